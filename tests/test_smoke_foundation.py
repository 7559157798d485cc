from __future__ import annotations


def test_metadata_read_at_runtime():
    from dtfl_plugin import __about__

    assert __about__.name() == "DTFL"
    assert __about__.version().count(".") == 2


def test_provider_registers(processing_ready):
    provider = processing_ready.providerById("dtfl")
    assert provider is not None
    assert provider.name() == "DTFL"
