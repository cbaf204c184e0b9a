import pytest

from sandbox.processes import free_port, gateway, sync_service


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def services(tmp_path, port):
    """Factories for the two services on one home; everything started is stopped afterwards."""
    started = []
    address = f"127.0.0.1:{port}"

    def start_gateway(*extra, home=None):
        service = gateway(home or tmp_path / "home", address, *extra).start()
        started.append(service)
        return service

    def start_sync(*extra, home=None):
        service = sync_service(home or tmp_path / "home", address, *extra).start()
        started.append(service)
        return service

    yield start_gateway, start_sync
    for service in started:
        service.ensure_stopped()
