"""A minimal scoring service for a model that modelgate promoted.

`scorer.release` (standard library only, so a CI runner can run it before
anything is installed) finds and verifies the artifact in a downloaded
release; `scorer.models` scores it with the model's own library;
`scorer.app` serves it over HTTP.
"""
