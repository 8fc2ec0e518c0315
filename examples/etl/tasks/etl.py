import csv
import json
import shutil
import time
from pathlib import Path

from flowmancer import Task, task


@task
class Extract(Task):
    """Reads one region's sales export, stages a copy and shares the rows downstream."""

    region: str
    source: Path = Path("data")
    staging: Path = Path("staging")

    def run(self) -> None:
        export = self.source / f"sales_{self.region}.csv"
        with export.open(newline="") as f:
            rows = [
                {"product": row["product"], "amount": float(row["amount"])}
                for row in csv.DictReader(f)
            ]
        time.sleep(0.2)  # a slow export API: the `api` pool lets two extracts talk to it at once
        self.staging.mkdir(exist_ok=True)
        shutil.copy(export, self.staging / export.name)
        self.shared_dict[f"sales.{self.region}"] = rows
        self.logger.info("%d rows from %s", len(rows), export)


@task
class Transform(Task):
    """Totals per region and per product, from what every extract shared."""

    def run(self) -> None:
        by_region: dict[str, float] = {}
        by_product: dict[str, float] = {}
        for key, rows in sorted(self.shared_dict.items()):
            if not key.startswith("sales."):
                continue
            region = key.removeprefix("sales.")
            for row in rows:
                by_region[region] = round(by_region.get(region, 0.0) + row["amount"], 2)
                by_product[row["product"]] = round(
                    by_product.get(row["product"], 0.0) + row["amount"], 2
                )
        self.shared_dict["totals"] = {"by_region": by_region, "by_product": by_product}
        print(f"totals by region: {by_region}")


@task
class Load(Task):
    """Writes the report into the "warehouse" (a JSON file), which is busy at first."""

    target: Path = Path("warehouse/report.json")
    busy_attempts: int = 1  # how many attempts find the warehouse busy

    def run(self) -> None:
        if self.metadata.attempt <= self.busy_attempts:
            raise ConnectionError("warehouse busy")
        self.target.parent.mkdir(exist_ok=True)
        report = json.dumps(self.shared_dict["totals"], indent=2, sort_keys=True)
        self.target.write_text(report + "\n")
        print(f"report written to {self.target} on attempt {self.metadata.attempt}")


@task
class Cleanup(Task):
    """Removes the staged copies once every other task has finished, however it went
    (trigger_rule: finally)."""

    staging: Path = Path("staging")

    def run(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        print(f"removed {self.staging}/")


@task
class Alert(Task):
    """Raises the alarm when something upstream failed (trigger_rule: one_failed), saying
    what and why."""

    alerts: Path = Path("ALERT.txt")

    def run(self) -> None:
        failed = [
            f"{name} {up.state.value} ({up.reason})"
            for name, up in self.upstream_states.items()
            if up.failed
        ]
        message = f"the sales report was not loaded: {'; '.join(failed)}"
        self.alerts.write_text(message + "\n")
        self.logger.warning(message)
