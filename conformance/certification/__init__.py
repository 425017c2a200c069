"""Certification, one stage per module: a profile is frozen, materialized, run into a bundle, verified.

    profile.py      the Profile model: reading, checking, hashing and writing profile documents
    freeze.py       drawing and exporting a profile's instances (needs torch)
    materialize.py  writing a profile in backend-test layout and opening it checked
    bundle.py       running a materialized profile on a backend and sealing the bundle
    verify.py       checking a bundle without trusting it, and re-running a sample

Each imports only the ones above it.
"""
