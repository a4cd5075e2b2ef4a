"""The model side: base-model cache, the prompt + label-token format, engines, and scoring and decoding with them."""
