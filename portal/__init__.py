"""The public single point of contact: gathered content, the plain HTML page, Atom feed,
open data, and their static export."""
