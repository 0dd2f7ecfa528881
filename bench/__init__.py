"""`make bench`: the project's performance figures as one JSON object on stdout."""
