"""Backbone loading/caching and the prompt + label-token format."""
