"""Serving the champion: the BentoML service and its request schema (``service``) and the
bento's model import (``bento``)."""
