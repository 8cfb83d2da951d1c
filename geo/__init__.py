"""Reference geography: areas, their hierarchy and the country served (HUB_COUNTRY_CODE).

Used by initiatives (where an initiative acts) and connectivity (where people are cut
off); it imports neither.
"""
