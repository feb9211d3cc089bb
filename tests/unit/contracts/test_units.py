import pytest

from brain.contracts.units import to_standard


@pytest.mark.parametrize("value,unit,expected,std", [
    (212.0, "degF", 100.0, "degC"),
    (32.0, "degF", 0.0, "degC"),
    (1.5, "MWh", 1500.0, "kWh"),
    (250.0, "Wh", 0.25, "kWh"),
    (14.5037738, "psi", 100.0, "kPa"),
    (2.0, "bar", 200.0, "kPa"),
    (500.0, "kg", 0.5, "t"),
    (0.0, "K", -273.15, "degC"),
])
def test_conversions(value, unit, expected, std):
    got, unit_std = to_standard(value, unit)
    assert unit_std == std
    assert got == pytest.approx(expected, abs=1e-6)
