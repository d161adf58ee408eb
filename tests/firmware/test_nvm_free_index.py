"""The lowest free handset slot, computed by SQLite (a 20,000-handset system adds handsets one by one)."""

from firmware.nvm import NvmStore


def test_lowest_gap_first():
    store = NvmStore()
    assert store.free_index() == 1
    store.add_handset(ipui=None, index=2)
    assert store.free_index() == 1
    store.add_handset(ipui=None)
    assert store.free_index() == 3
    store.add_handset(ipui=None, index=5)
    assert store.free_index() == 3
    store.add_handset(ipui=None)
    store.add_handset(ipui=None)
    assert [h.index for h in store.handsets()] == [1, 2, 3, 4, 5] and store.free_index() == 6
    store.remove_handset(2)
    assert store.free_index() == 2
