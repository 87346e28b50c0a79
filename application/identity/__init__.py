"""Who people are: accounts with roles, hashed passwords, API tokens and web sessions.

Kept out of the event store on purpose: personal details (names, e-mail addresses) must be
erasable, and events refer to people by user id only.
"""
