import sys

from flowmancer import Task, task


@task
class CountWords(Task):
    """Counts the words of a text and says so in three ways: print, stderr, self.logger."""

    text: str

    def run(self) -> None:
        words = self.text.split()
        print(f"{len(words)} words")
        print(f"longest: {max(words, key=len)}", file=sys.stderr)  # stderr lines are ERROR
        self.logger.warning("counted %d words, with, commas", len(words))
        self.shared_dict[self.metadata.name] = len(words)


@task
class Total(Task):
    """Adds up what the counts shared."""

    def run(self) -> None:
        print(f"total: {sum(self.shared_dict.values())} words")
