"""Every word of the web page, in Vietnamese (the default) and English.

Checklist verdicts, reading qualities and alarm messages come from where the
rest of the project keeps them (`checklist.render_text`, the alarm's own
`message.vi` / `message.en`); only the page's own labels are here.
"""

from __future__ import annotations

from typing import Literal

from fieldagent.model import HealthState

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

STATE_WORDS: dict[Lang, dict[HealthState, str]] = {
    "vi": {
        HealthState.OK: "bình thường",
        HealthState.WARNING: "cảnh báo",
        HealthState.CRITICAL: "nghiêm trọng",
        HealthState.UNREACHABLE: "mất kết nối",
    },
    "en": {
        HealthState.OK: "ok",
        HealthState.WARNING: "warning",
        HealthState.CRITICAL: "critical",
        HealthState.UNREACHABLE: "unreachable",
    },
}

LABELS: dict[Lang, dict[str, str]] = {
    "vi": {
        "title": "Giám sát các đài truyền thanh - truyền hình",
        "stations": "Các đài",
        "station": "Đài",
        "name": "Tên",
        "state": "Trạng thái",
        "alarms": "Cảnh báo",
        "active_alarms": "Cảnh báo đang hoạt động",
        "no_alarms": "Không có cảnh báo nào.",
        "last_seen": "Lần cuối",
        "checklist": "Kiểm tra",
        "flags": "Ghi chú",
        "offline": "NGỪNG HOẠT ĐỘNG",
        "no_status": "CHƯA CÓ TRẠNG THÁI",
        "silent": "IM LẶNG",
        "gap": "THIẾU {n} TIN",
        "never": "chưa bao giờ",
        "none": "chưa có",
        "devices": "Thiết bị",
        "device": "Thiết bị",
        "reason": "Lý do",
        "readings": "Số đo",
        "metric": "Thông số",
        "value": "Giá trị",
        "quality": "Chất lượng",
        "no_readings": "Chưa nhận số đo.",
        "since": "từ",
        "report": "Biên bản kiểm tra gần nhất",
        "open_report": "Xem biên bản",
        "back": "Tất cả các đài",
        "login": "Đăng nhập",
        "logout": "Đăng xuất",
        "user": "Tên đăng nhập",
        "password": "Mật khẩu",
        "wrong": "Sai tên đăng nhập hoặc mật khẩu.",
        "too_many": "Quá nhiều lần thử. Hãy thử lại sau.",
        "not_found": "Không có đài này.",
        "no_report": "Đài này chưa gửi biên bản kiểm tra.",
        "count": "{n} đài",
        "updated": "Cập nhật",
        "broker": "Máy chủ MQTT",
        "ok": "BT",
        "warning": "CB",
        "critical": "NT",
        "unreachable": "MKN",
        "other_lang": "English",
    },
    "en": {
        "title": "Radio-TV stations monitor",
        "stations": "Stations",
        "station": "Station",
        "name": "Name",
        "state": "State",
        "alarms": "Alarms",
        "active_alarms": "Active alarms",
        "no_alarms": "No active alarm.",
        "last_seen": "Last seen",
        "checklist": "Checklist",
        "flags": "Flags",
        "offline": "OFFLINE",
        "no_status": "NO STATUS",
        "silent": "SILENT",
        "gap": "GAP {n}",
        "never": "never",
        "none": "none",
        "devices": "Devices",
        "device": "Device",
        "reason": "Reason",
        "readings": "Readings",
        "metric": "Metric",
        "value": "Value",
        "quality": "Quality",
        "no_readings": "No readings yet.",
        "since": "since",
        "report": "Latest checklist record",
        "open_report": "Open the record",
        "back": "All stations",
        "login": "Log in",
        "logout": "Log out",
        "user": "User name",
        "password": "Password",
        "wrong": "Wrong user name or password.",
        "too_many": "Too many attempts. Try again later.",
        "not_found": "No such station.",
        "no_report": "This station has sent no checklist report.",
        "count": "{n} stations",
        "updated": "Updated",
        "broker": "MQTT broker",
        "ok": "OK",
        "warning": "WRN",
        "critical": "CRT",
        "unreachable": "UNR",
        "other_lang": "Tiếng Việt",
    },
}
