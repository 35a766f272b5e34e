"""One module per ``dvc.yaml`` stage (validate with its suite, prepare, train, evaluate with its
plots) and the drift measures the validation and the report share. Each exposes a pure
function (data in, result out) and a ``run`` that does the file I/O for ``mlops <stage>``."""
