"""Alarm texts in Vietnamese and English, built from the metric and the values.

English uses the driver's metric title ("High reflected power: 310 W (limit
200 W)").  Vietnamese uses the title from `TITLES_VI` (by metric key), puts the
condition after the noun as Vietnamese does ("Công suất phản xạ cao: 310 W
(ngưỡng 200 W)"), and falls back to the English title for a metric not in the
table yet.  Numbers keep the decimal point the devices and telemetry use.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo

from fieldagent.driver import Metric, split_row_key
from fieldagent.model import Value

TITLES_VI: Mapping[str, str] = {
    # agent host
    "host.cpu_temperature_c": "Nhiệt độ CPU",
    "host.load_1m": "Tải hệ thống trung bình 1 phút",
    "host.load_5m": "Tải hệ thống trung bình 5 phút",
    "host.load_15m": "Tải hệ thống trung bình 15 phút",
    "host.load_5m_per_core": "Tải trung bình 5 phút trên mỗi lõi CPU",
    "host.memory_available_pct": "Bộ nhớ còn trống",
    "host.disk_free_pct": "Dung lượng đĩa còn trống",
    "host.disk_free_mb": "Dung lượng đĩa còn trống",
    "host.clock_synced": "Đồng bộ đồng hồ hệ thống (NTP)",
    "host.uptime_s": "Thời gian chạy từ lần khởi động",
    # changeover unit
    # DOCSIS
    "docsis.upstream.unerrored_cw_per_s": "Từ mã không lỗi",
    "docsis.upstream.corrected_cw_per_s": "Từ mã đã sửa lỗi",
    "docsis.upstream.uncorrectable_cw_per_s": "Từ mã lỗi không sửa được",
    "docsis.upstream.snr_db": "SNR đường lên",
    "docsis.upstream.microreflections_dbc": "Vi phản xạ",
    "docsis.upstream.admin_status": "Kênh được cấu hình (ifAdminStatus)",
    "docsis.upstream.oper_status": "Kênh hoạt động (ifOperStatus)",
    # transmitters
    "rf.forward_power_w": "Công suất phát",
    "rf.reflected_power_w": "Công suất phản xạ",
    "rf.vswr": "Hệ số sóng đứng (VSWR)",
    "rf.vswr_limit": "Ngưỡng VSWR tự giảm công suất của máy phát",
    "tx.on_air": "Đang phát sóng RF",
    "tx.mer_db": "Tỷ số lỗi điều chế (MER)",
    "tx.interlock": "Mạch khóa liên động an toàn",
    "tx.control_mode": "Chế độ điều khiển",
    "tx.standby": "Chế độ chờ",
    "ts.present": "Có luồng TS đầu vào",
    "gps.locked": "Khóa GPS",
    "sfn.synced": "Đồng bộ SFN",
    "exciter.state": "Trạng thái bộ kích thích",
    "exciter.fault": "Lỗi bộ kích thích",
    "exciter.no_connection": "Mất kết nối tới bộ kích thích",
    "exciter.on_air": "Bộ kích thích đang phát",
    "exciter.vswr": "Hệ số sóng đứng (VSWR) bộ kích thích",
    "exciter.agc_pct": "Điểm làm việc AGC đầu ra RF bộ kích thích",
    "exciter.fail_delay": "Trạng thái trễ chuyển đổi khi lỗi",
    "pa.temperature_c": "Nhiệt độ khối khuếch đại công suất (PA)",
    "fan.speed_rpm": "Tốc độ quạt",
    "audio.modulation_peak_pct": "Độ điều chế đỉnh",
    "tx.alarm.high_swr": "Cảnh báo VSWR cao",
    "tx.alarm.high_reflected": "Cảnh báo công suất phản xạ cao",
    "tx.alarm.forward_low": "Cảnh báo công suất phát thấp",
    "tx.alarm.pa_over_temp": "Quá nhiệt khối khuếch đại công suất (PA)",
    "tx.alarm.ac_fail": "Mất điện lưới vào bộ nguồn",
    "tx.alarm.fan_fail": "Hỏng quạt",
    "tx.alarm.audio_loss": "Mất âm thanh",
    "tx.alarm.pll_unlock": "Mất khóa PLL bộ kích thích",
    "tx.alarm.off_air": "Mất phát sóng (cảnh báo tổng)",
    "tx.alarm.fault": "Lỗi tổng",
    "tx.alarm.warning": "Cảnh báo tổng",
    "tx.summary_fault": "Lỗi tổng của máy phát",
    "tx.summary_warning": "Cảnh báo tổng của máy phát",
    "tx.local_mode": "Máy phát ở chế độ điều khiển tại chỗ (local)",
    # environment and power sensors
    "env.temperature_c": "Nhiệt độ",
    "env.humidity_pct": "Độ ẩm tương đối",
    "env.fan_rpm": "Tốc độ quạt",
    "env.airflow_cmm": "Lưu lượng gió",
    "env.contact": "Tiếp điểm",
    "power.ac_voltage_v": "Điện áp AC",
    "power.dc_voltage_v": "Điện áp DC",
    "power.current_a": "Dòng điện",
    "power.power_w": "Công suất điện",
    "power.frequency_hz": "Tần số điện",
    "sensor.value": "Giá trị cảm biến",
    "sensor.status": "Trạng thái cảm biến",
    # generator
    "gen.running": "Máy phát điện đang chạy",
    "gen.mode": "Chế độ điều khiển máy phát điện",
    "gen.oil_pressure_kpa": "Áp suất dầu bôi trơn",
    "gen.coolant_temperature_c": "Nhiệt độ nước làm mát",
    "gen.fuel_pct": "Mức nhiên liệu",
    "gen.battery_v": "Điện áp ắc quy khởi động",
    "gen.engine_rpm": "Tốc độ động cơ",
    "gen.run_hours": "Số giờ chạy máy",
    "gen.alarm.low_oil_pressure": "Áp suất dầu thấp (dừng máy)",
    "gen.alarm.high_coolant_temperature": "Nhiệt độ nước làm mát cao (dừng máy)",
    "gen.alarm.overspeed": "Quá tốc độ (dừng máy)",
    "gen.alarm.fail_to_start": "Khởi động không thành công",
    "gen.alarm.low_fuel": "Mức nhiên liệu thấp",
    "gen.alarm.battery_low": "Điện áp ắc quy khởi động thấp",
    "gen.alarm.emergency_stop": "Đã nhấn nút dừng khẩn cấp",
    # satellite receiver
    "ird.locked": "Khóa giải điều chế",
    "ird.cn_db": "Tỷ số C/N",
    "ird.ebn0_db": "Tỷ số Eb/N0",
    "ird.link_margin_db": "Độ dự trữ đường truyền",
    "ird.ber": "Tỷ lệ lỗi bit sau Viterbi",
    "ird.signal_quality_pct": "Chất lượng tín hiệu",
    "ird.signal_dbm": "Mức tín hiệu đầu vào",
    "ird.input_enabled": "Đầu vào được sử dụng",
    "ird.ber_code": "Mã tỷ lệ lỗi bit (BER) của đầu thu",
    "ird.dvb_mode": "Chế độ giải điều chế (DVB-S/S2)",
    # off-air FM monitor
    # optical headend
    "module.temperature_c": "Nhiệt độ mô-đun",
    "optical.output_dbm": "Công suất quang đầu ra của laser",
    "optical.laser_bias_ma": "Dòng phân cực laser",
    "optical.laser_temperature_c": "Nhiệt độ laser",
    "optical.tec_current_ma": "Dòng TEC của laser",
    "optical.wavelength_nm": "Bước sóng laser",
    "optical.laser_status": "Trạng thái đầu ra laser",
    "edfa.input_dbm": "Công suất quang đầu vào EDFA",
    "edfa.output_dbm": "Công suất quang đầu ra EDFA",
    "hms.alarms.active": "Số cảnh báo HMS đang có",
    # UPS
    "ups.battery.status": "Trạng thái ắc quy",
    "ups.battery.on_battery_s": "Thời gian chạy bằng ắc quy",
    "ups.battery.runtime_min": "Thời gian lưu điện còn lại ước tính",
    "ups.battery.charge_pct": "Dung lượng ắc quy còn lại",
    "ups.battery.voltage_v": "Điện áp ắc quy",
    "ups.battery.temperature_c": "Nhiệt độ ắc quy",
    "ups.input.voltage_v": "Điện áp đầu vào",
    "ups.input.frequency_hz": "Tần số điện đầu vào",
    "ups.output.source": "Nguồn cấp đầu ra UPS",
    "ups.output.load_pct": "Tải đầu ra",
}
"""Vietnamese metric titles by metric key (row keys use their metric's title)."""

LABELS_VI: Mapping[str, str] = {
    "battery": "ắc quy",
    "bypass": "bypass (nối thẳng)",
    "booster": "tăng áp",
    "reducer": "giảm áp",
    "normal": "bình thường",
    "none": "không có nguồn",
    "other": "khác",
    "unknown": "không xác định",
    "low": "thấp",
    "depleted": "cạn kiệt",
    "standby": "máy dự phòng",
    "main": "máy chính",
    "open": "hở",
    "closed": "đóng",
    "local": "tại chỗ",
    "remote": "từ xa",
    "off": "tắt",
    "on": "bật",
    "auto": "tự động",
    "manual": "bằng tay",
    "ok": "bình thường",
    "unavailable": "không khả dụng",
    "nonoperational": "không hoạt động",
}
"""Vietnamese for the enum labels drivers use (others are shown as the device sends them)."""

ROW_LABELS_VI: Mapping[str, str] = {
    "input": "đầu vào",
    "output": "đầu ra",
    "channel": "kênh",
    "sensor": "cảm biến",
    "laser": "laser",
    "module": "mô-đun",
}

CONDITIONS: Mapping[str, tuple[str, str]] = {
    "high": ("cao", "High"),
    "low": ("thấp", "Low"),
}
"""Condition -> (Vietnamese adjective after the noun, English adjective before it)."""


def number(value: float) -> str:
    """310.0 -> "310", 1.85 -> "1.85", 0.00002 -> "2e-05"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def quantity(value: Value, unit: str) -> str:
    """A value with its unit: "310 W", "1.9", "battery"."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = number(value)
    else:
        text = "" if value is None else str(value)
    return f"{text} {unit}" if unit and text else text


def titles(metric: Metric, key: str) -> tuple[str, str]:
    """(Vietnamese, English) title of a reading key; a row names its row: "C/N (input 2)"."""
    vi = metric.title_vi or TITLES_VI.get(metric.key, metric.title)
    en = metric.title
    parts = split_row_key(key)
    if parts is not None:
        _, label, index = parts
        vi += f" ({ROW_LABELS_VI.get(label, label)} {index})"
        en += f" ({label} {index})"
    return vi, en


def _lower_first(title: str) -> str:
    """ "Reflected power" -> "reflected power"; "VSWR", "C/N", "Eb/N0" stay as they are."""
    first, _, rest = title.partition(" ")
    if first.isalpha() and first[:1].isupper() and first[1:].islower():
        first = first.lower()
    return f"{first} {rest}" if rest else first


def limit_messages(
    metric: Metric, key: str, condition: str, value: float, limit: float
) -> tuple[str, str]:
    """The texts of a limit alarm.

    "Công suất phản xạ cao: 310 W (ngưỡng 200 W)" / "High reflected power: 310 W (limit 200 W)".
    """
    vi_title, en_title = titles(metric, key)
    vi_word, en_word = CONDITIONS[condition]
    shown, bound = quantity(value, metric.unit), quantity(limit, metric.unit)
    return (
        f"{vi_title} {vi_word}: {shown} (ngưỡng {bound})",
        f"{en_word} {_lower_first(en_title)}: {shown} (limit {bound})",
    )


def state_messages(metric: Metric, key: str, value: Value) -> tuple[str, str]:
    """ "Nguồn cấp đầu ra UPS: ắc quy" / "Output source: battery"; "RF on air: no"."""
    vi_title, en_title = titles(metric, key)
    if isinstance(value, bool):
        return (
            f"{vi_title}: {'có' if value else 'không'}",
            f"{en_title}: {'yes' if value else 'no'}",
        )
    label = str(value)
    return f"{vi_title}: {LABELS_VI.get(label, label)}", f"{en_title}: {label}"


def invalid_messages(metric: Metric, key: str, detail: str) -> tuple[str, str]:
    vi_title, en_title = titles(metric, key)
    why = f" ({detail})" if detail else ""
    return (
        f"Giá trị đọc không hợp lệ: {vi_title}{why}",
        f"Invalid reading: {en_title}{why}",
    )


def unreachable_messages(name: str, failures: int, retries: int, error: str) -> tuple[str, str]:
    why = f": {error}" if error else ""
    return (
        f"Mất liên lạc với {name}: {failures} lần đọc liên tiếp không trả lời"
        f" (ngưỡng {retries}){why}",
        f"{name} not answering: {failures} polls in a row failed (limit {retries}){why}",
    )


def stale_messages(name: str, age_s: float, limit_s: float) -> tuple[str, str]:
    age, limit = number(round(age_s)), number(round(limit_s, 1))
    return (
        f"Không có dữ liệu mới từ {name} trong {age} s (ngưỡng {limit} s)",
        f"No fresh data from {name} for {age} s (limit {limit} s)",
    )


def local_time(ts: datetime, zone: tzinfo) -> str:
    """ "2026-12-01 08:00 +07:00": the station's local time, with its offset."""
    local = ts.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def maintenance_messages(name: str, until: datetime, zone: tzinfo) -> tuple[str, str]:
    when = local_time(until, zone)
    return (
        f"Chế độ bảo trì đang bật cho {name} đến {when}: cảnh báo của thiết bị bị tạm ẩn",
        f"Maintenance mode on for {name} until {when}: its alarms are suppressed",
    )
