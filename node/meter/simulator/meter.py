"""A simulated smart meter: integrates a household's power into registers and writes telegrams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterator

from node.meter.crc import crc16_arc
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.dlms_frames import data_notification, gbt_hdlc_frames, glo_cipher, hdlc_frames, mbus_frames
from node.meter.simulator.household import Household


@dataclass(frozen=True)
class Encryption:
    """Send encrypted DLMS instead of plain DSMR text.

    `payload` is "notification" (a DataNotification, as Austrian meters) or "dsmr" (DSMR text
    inside the ciphering, as Luxembourg's); `container` is "mbus", "hdlc", "gbt" (General Block
    Transfer blocks in HDLC frames, as the Landis+Gyr E450) or "bare".
    """

    encryption_key: bytes
    authentication_key: bytes | None = None
    payload: str = "notification"
    container: str = "mbus"
    system_title: bytes = b"GCS\x00\x00\x00\x00\x01"
    first_frame_counter: int = 1

    def __repr__(self) -> str:  # keys stay out of logs
        return f"Encryption(payload={self.payload!r}, container={self.container!r})"


class Registers:
    """Cumulative registers in milliwatt-hours and millilitres: integers that only grow."""

    def __init__(self) -> None:
        self.import_mwh = [0, 0]  # tariff 1 (low), tariff 2 (normal)
        self.export_mwh = [0, 0]
        self.gas_ml = 0

    def add(self, tariff: int, import_w: float, export_w: float, gas_lph: float, seconds: float) -> None:
        self.import_mwh[tariff - 1] += round(import_w * seconds / 3.6)
        self.export_mwh[tariff - 1] += round(export_w * seconds / 3.6)
        self.gas_ml += round(gas_lph * seconds / 3.6)


def tariff_at(moment: datetime) -> int:
    """Dutch tariffs: 1 (low) at night and at weekends, 2 (normal) on weekday daytime."""
    local = moment.astimezone(METER_TIMEZONE)
    return 1 if local.weekday() >= 5 or local.hour >= 23 or local.hour < 7 else 2


class SimulatedMeter:
    """Steps a household through time and yields what a DSMR 5 meter (or an encrypted one) sends."""

    def __init__(
        self,
        household: Household,
        start: datetime,
        interval: float = 1.0,
        encryption: Encryption | None = None,
        meter_id: str | None = None,
    ):
        if start.tzinfo is None:
            raise ValueError("the simulation start must be an aware datetime")
        self.household = household
        self.moment = start.astimezone(METER_TIMEZONE)
        self.interval = interval
        self.encryption = encryption
        self.meter_id = meter_id or f"E0099{household.seed % 10**12:012d}"
        self.gas_id = f"G0099{household.seed % 10**12:012d}"
        self.registers = Registers()
        self.frame_counter = encryption.first_frame_counter if encryption else 0
        self._gas_reading = (self.moment, 0)

    def __iter__(self) -> Iterator[tuple[datetime, bytes]]:
        while True:
            yield self.step()

    def step(self) -> tuple[datetime, bytes]:
        """Advance one interval; the moment it ends and the bytes the meter sends then."""
        load = self.household.load_w(self.moment)
        pv = self.household.pv_w(self.moment)
        import_w, export_w = max(load - pv, 0.0), max(pv - load, 0.0)
        tariff = tariff_at(self.moment)
        self.registers.add(tariff, import_w, export_w, self.household.gas_litres_per_hour(self.moment), self.interval)
        self.moment += timedelta(seconds=self.interval)
        if self.moment.minute % 5 == 0 and self.moment.second < self.interval:
            # DSMR 5 meters refresh the gas value every five minutes, stamped with that time.
            self._gas_reading = (self.moment.replace(second=0, microsecond=0), self.registers.gas_ml)
        telegram = self.dsmr5_telegram(tariff, import_w, export_w)
        if self.encryption is None:
            return self.moment, telegram
        return self.moment, self._encrypted(telegram, import_w, export_w)

    def dsmr5_telegram(self, tariff: int, import_w: float, export_w: float) -> bytes:
        """A DSMR 5 telegram of the current state, CRC included."""
        r = self.registers
        voltage = 229.0 + 4 * ((self.moment.second * 7919) % 100) / 100
        current = round((import_w + export_w) / voltage)
        gas_time, gas_ml = self._gas_reading
        gas_litres = gas_ml // 1000
        lines = [
            f"/GCS5\\2SIMULATOR-{self.household.seed}",
            "",
            "1-3:0.2.8(50)",
            f"0-0:1.0.0({_dsmr_time(self.moment)})",
            f"0-0:96.1.1({self.meter_id.encode().hex().upper()})",
            f"1-0:1.8.1({_kwh(r.import_mwh[0])}*kWh)",
            f"1-0:1.8.2({_kwh(r.import_mwh[1])}*kWh)",
            f"1-0:2.8.1({_kwh(r.export_mwh[0])}*kWh)",
            f"1-0:2.8.2({_kwh(r.export_mwh[1])}*kWh)",
            f"0-0:96.14.0({tariff:04d})",
            f"1-0:1.7.0({import_w / 1000:06.3f}*kW)",
            f"1-0:2.7.0({export_w / 1000:06.3f}*kW)",
            "0-0:96.7.21(00000)",
            "0-0:96.7.9(00000)",
            "1-0:99.97.0(0)(0-0:96.7.19)",
            "1-0:32.32.0(00000)",
            "1-0:32.36.0(00000)",
            "0-0:96.13.0()",
            f"1-0:32.7.0({voltage:05.1f}*V)",
            f"1-0:31.7.0({current:03d}*A)",
            f"1-0:21.7.0({import_w / 1000:06.3f}*kW)",
            f"1-0:22.7.0({export_w / 1000:06.3f}*kW)",
        ]
        if self.household.profile.gas:
            lines += [
                "0-1:24.1.0(003)",
                f"0-1:96.1.0({self.gas_id.encode().hex().upper()})",
                f"0-1:24.2.1({_dsmr_time(gas_time)})({gas_litres // 1000:05d}.{gas_litres % 1000:03d}*m3)",
            ]
        body = ("\r\n".join(lines) + "\r\n!").encode("ascii")
        return body + f"{crc16_arc(body):04X}\r\n".encode("ascii")

    def _encrypted(self, telegram: bytes, import_w: float, export_w: float) -> bytes:
        e = self.encryption
        if e.payload == "dsmr":
            plaintext = telegram
        else:
            r = self.registers
            plaintext = data_notification(
                {
                    "1-0:1.8.0": (Decimal(sum(r.import_mwh) // 1000), "Wh"),
                    "1-0:2.8.0": (Decimal(sum(r.export_mwh) // 1000), "Wh"),
                    "1-0:1.7.0": (Decimal(round(import_w)), "W"),
                    "1-0:2.7.0": (Decimal(round(export_w)), "W"),
                },
                self.moment,
                self.meter_id,
                invoke_id=self.frame_counter,
            )
        security_control = 0x30 if e.authentication_key else 0x20
        apdu = glo_cipher(plaintext, e.system_title, self.frame_counter, e.encryption_key, e.authentication_key, security_control)
        self.frame_counter += 1
        if e.container == "mbus":
            return mbus_frames(apdu)
        if e.container == "hdlc":
            return hdlc_frames(apdu)
        if e.container == "gbt":
            return gbt_hdlc_frames(apdu)
        return apdu


def _kwh(milliwatt_hours: int) -> str:
    watt_hours = milliwatt_hours // 1000
    return f"{watt_hours // 1000:06d}.{watt_hours % 1000:03d}"


def _dsmr_time(moment: datetime) -> str:
    local = moment.astimezone(METER_TIMEZONE)
    return local.strftime("%y%m%d%H%M%S") + ("S" if local.dst() else "W")
