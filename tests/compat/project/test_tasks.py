"""The project's own unit test, as 0.12 users wrote them: build a task, run it, inspect."""

from tasks.shared import Put


def test_put_writes_to_the_shared_dict_it_was_given():
    d = {}
    Put(shared_dict=d, key="k", value="v").run()
    assert d == {"k": "v"}
