"""``project/`` is a user's project (with the user's own unit test), run in a copy by the tests
here: it is not collected as ours."""

collect_ignore = ["project"]
