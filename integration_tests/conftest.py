import pytest

from tests.support.harness import make_emulator


@pytest.fixture
def emulator():
    with make_emulator() as emu:
        yield emu
