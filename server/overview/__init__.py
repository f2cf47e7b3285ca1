"""The overview: how complete the self-checks are, by site and post, over a day, week or month."""
