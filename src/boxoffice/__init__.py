"""boxoffice: concert-ticket reservation built for ticket drops."""
