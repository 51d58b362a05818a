"""A mix that fails on purpose on 4-CPU points: for the tests of failure recording."""

from allocator.mixes.page_fault1 import PageFault1


class Failing(PageFault1):
    name = "failing"

    def build(self, machine, values):
        if machine.cpus == 4:
            raise RuntimeError("planted failure")
        return super().build(machine, values)
