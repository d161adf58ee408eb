"""The lazy deadline heap behind a DECT manager's single next_deadline()."""

from firmware.timers import DeadlineHeap


class Core:
    def __init__(self, deadline):
        self.deadline = deadline

    def next_deadline(self):
        return self.deadline


def test_earliest_deadline_and_due_order():
    heap = DeadlineHeap()
    a, b, c = Core(5.0), Core(1.0), Core(None)
    for core in (a, b, c):
        heap.touch(core)
    assert heap.next_deadline() == 1.0
    assert list(heap.due(0.5)) == []
    assert list(heap.due(5.0)) == [b, a]
    assert heap.next_deadline() is None


def test_moved_deadline_drops_the_stale_entry():
    heap = DeadlineHeap()
    a = Core(1.0)
    heap.touch(a)
    a.deadline = 10.0
    heap.touch(a)
    assert heap.next_deadline() == 10.0
    assert list(heap.due(5.0)) == []
    a.deadline = None
    heap.touch(a)
    assert heap.next_deadline() is None


def test_forget_and_retouch_after_due():
    heap = DeadlineHeap()
    a, b = Core(2.0), Core(3.0)
    heap.touch(a)
    heap.touch(b)
    heap.forget(a)
    assert heap.next_deadline() == 3.0
    (due,) = heap.due(3.0)
    due.deadline = 7.0
    heap.touch(due)
    assert heap.next_deadline() == 7.0


def test_same_deadline_keeps_push_order():
    heap = DeadlineHeap()
    cores = [Core(4.0) for _ in range(5)]
    for core in cores:
        heap.touch(core)
    assert list(heap.due(4.0)) == cores
