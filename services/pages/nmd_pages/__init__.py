"""The pages service: the campaign's public face (countdown, partner directory, story wall, page views)."""
