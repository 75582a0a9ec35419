"""The stories service: mentoring stories from submission through moderation to the story wall, and withdrawal."""
