"""Every word `fieldagent doctor` says, in Vietnamese and English, in one place.

A text is a template filled from a finding's parameters.  A warned or failed
row also says what to do next, as a command to type where there is one: the
reader is a technician at the station, not the person who wrote the agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")


@dataclass(frozen=True)
class Text:
    vi: str
    en: str

    def get(self, lang: Lang) -> str:
        return self.vi if lang == "vi" else self.en


@dataclass(frozen=True)
class Message:
    result: Text
    fix: Text | None = None


STATUS = {
    0: Text("ĐẠT", "PASS"),
    1: Text("CẢNH BÁO", "WARN"),
    2: Text("LỖI", "FAIL"),
}

HEADINGS = {
    "title": Text("Kiểm tra trạm {station} ({path})", "Checking station {station} ({path})"),
    "fix": Text("Việc cần làm", "What to do"),
    "summary": Text(
        "Kết quả: {fail} lỗi, {warn} cảnh báo, {ok} đạt (mã thoát {code})",
        "Result: {fail} failed, {warn} warnings, {ok} passed (exit code {code})",
    ),
}

CHECKS = {
    "config": Text("Tệp cấu hình trạm", "Station file"),
    "service_user": Text("Tài khoản chạy dịch vụ", "Service account"),
    "secrets": Text("Bí mật và quyền của tệp", "Secrets and file permissions"),
    "state_dir": Text("Thư mục trạng thái", "State directory"),
    "disk": Text("Dung lượng trống", "Free space"),
    "clock": Text("Đồng bộ đồng hồ", "Clock synchronisation"),
    "serial": Text("Cổng nối tiếp", "Serial port"),
    "traps": Text("Cổng nhận trap SNMP", "SNMP trap port"),
    "broker_dns": Text("Broker: phân giải tên (DNS)", "Broker: name resolution (DNS)"),
    "broker_tcp": Text("Broker: kết nối TCP", "Broker: TCP connection"),
    "broker_tls": Text("Broker: chứng chỉ TLS", "Broker: TLS certificate"),
    "broker_auth": Text("Broker: đăng nhập", "Broker: authentication"),
    "broker_publish": Text("Broker: quyền gửi tin", "Broker: publish permission"),
    "device": Text("Thiết bị", "Device"),
}

REASONS_VI = {
    "Bad user name or password": "sai tên đăng nhập hoặc mật khẩu",
    "Not authorized": "không được phép (tài khoản hoặc mật khẩu bị từ chối)",
    "Server unavailable": "broker đang không sẵn sàng",
    "Client identifier not valid": "mã client không hợp lệ",
    "Unsupported protocol version": "phiên bản giao thức MQTT không được hỗ trợ",
    "Banned": "client bị cấm",
}
"""The broker's CONNACK reasons as paho words them, in Vietnamese."""

_SERVICE = "sudo systemctl restart fieldagent"

MESSAGES: dict[str, Message] = {
    # the station file
    "config_ok": Message(
        Text(
            "hợp lệ (trạm {station}, {devices} thiết bị)",
            "valid (station {station}, {devices} devices)",
        )
    ),
    "config_invalid": Message(
        Text("không dùng được: {problems}", "cannot be used: {problems}"),
        Text(
            "sửa từng lỗi nêu ở đây trong tệp, rồi chạy: fieldagent check-config -c {path}",
            "fix each problem named here in the file, then run: fieldagent check-config -c {path}",
        ),
    ),
    "driver_model": Message(
        Text(
            "thiết bị {device}: driver {driver} là mô hình, chưa dựa trên tài liệu MIB/giao thức "
            "đã công bố",
            "device {device}: driver {driver} is a model, not built on a published MIB or protocol",
        ),
        Text(
            "so các giá trị đọc được (fieldagent poll {device}) với màn hình của thiết bị",
            "compare its readings (fieldagent poll {device}) with the device's own display",
        ),
    ),
    # the account the service runs as
    "user_ok": Message(Text("{user} (nhóm: {groups})", "{user} (groups: {groups})")),
    "user_unknown": Message(
        Text("không có tài khoản {user} trên máy này", "there is no account {user} on this box"),
        Text(
            "chạy lại bộ cài đặt (nó tạo tài khoản), hoặc chỉ rõ tài khoản: --user TÊN",
            "run the installer again (it creates the account), or name the account: --user NAME",
        ),
    ),
    # secrets
    "secrets_ok": Message(
        Text("các tệp chứa bí mật chỉ chủ sở hữu đọc được", "files holding secrets are private")
    ),
    "secrets_exposed": Message(
        Text(
            "tệp chứa bí mật mà người khác đọc hoặc sửa được: {problem}",
            "a file holding secrets is exposed: {problem}",
        ),
        Text(
            "chạy: sudo chmod 600 {path} (hoặc 640 với nhóm của dịch vụ); agent không khởi động "
            "khi tệp còn hở",
            "run: sudo chmod 600 {path} (or 640 with the service's group); the agent will not "
            "start while it is exposed",
        ),
    ),
    "secret_file": Message(
        Text(
            "tệp mật khẩu không dùng được: {problem}", "the password file cannot be used: {problem}"
        ),
        Text(
            "kiểm tra mqtt.password_file; chạy: sudo chmod 600 TỆP",
            "check mqtt.password_file; run: sudo chmod 600 FILE",
        ),
    ),
    "file_unreadable": Message(
        Text(
            "{key}: tài khoản {user} không đọc được {path} (chủ {owner}, quyền {mode})",
            "{key}: account {user} cannot read {path} (owner {owner}, mode {mode})",
        ),
        Text(
            "chạy: sudo chgrp {user} {path} && sudo chmod 640 {path}",
            "run: sudo chgrp {user} {path} && sudo chmod 640 {path}",
        ),
    ),
    "link_warning": Message(
        Text(
            "kết nối broker không được bảo vệ đầy đủ: {warning}",
            "the broker link is not fully protected: {warning}",
        ),
        Text(
            "dùng mqtts:// với ca_file của tỉnh và tls_verify = true",
            "use mqtts:// with the province's ca_file and tls_verify = true",
        ),
    ),
    # the state directory
    "state_ok": Message(Text("tài khoản {user} ghi được", "writable by account {user}")),
    "state_missing": Message(
        Text("thư mục không tồn tại", "the directory does not exist"),
        Text(
            "chạy: sudo install -d -o {user} -g {user} -m 750 {path}",
            "run: sudo install -d -o {user} -g {user} -m 750 {path}",
        ),
    ),
    "state_not_dir": Message(
        Text("đây không phải là thư mục", "this is not a directory"),
        Text(
            "đổi agent.state_dir trong tệp cấu hình sang một thư mục",
            "point agent.state_dir in the station file at a directory",
        ),
    ),
    "state_not_writable": Message(
        Text(
            "tài khoản {user} không ghi được (chủ {owner}, quyền {mode})",
            "account {user} cannot write to it (owner {owner}, mode {mode})",
        ),
        Text("chạy: sudo chown -R {user}: {path}", "run: sudo chown -R {user}: {path}"),
    ),
    "state_write_failed": Message(
        Text("không ghi thử được một tệp: {error}", "a test file could not be written: {error}"),
        Text(
            "thẻ nhớ có thể bị khóa chỉ-đọc hoặc hỏng: xem dmesg, thay thẻ nếu cần",
            "the SD card may have turned read-only or failed: look at dmesg, replace it if needed",
        ),
    ),
    "state_db_damaged": Message(
        Text("state.db bị hỏng: {damage}", "state.db is damaged: {damage}"),
        Text(
            "agent sẽ cất tệp hỏng sang bên và tạo tệp mới khi khởi động; các tin chưa gửi trong "
            "đó bị mất",
            "the agent moves it aside and starts a new one when it starts; unsent messages in it "
            "are lost",
        ),
    ),
    # free space
    "disk_ok": Message(Text("còn {free_mb} MB trống", "{free_mb} MB free")),
    "disk_low": Message(
        Text(
            "chỉ còn {free_mb} MB trống (dưới {min_mb} MB)",
            "only {free_mb} MB free (under {min_mb} MB)",
        ),
        Text(
            "xóa bớt tệp không cần (sudo journalctl --vacuum-size=50M), hoặc dùng thẻ nhớ lớn hơn",
            "delete what is not needed (sudo journalctl --vacuum-size=50M), or use a larger SD "
            "card",
        ),
    ),
    "disk_unknown": Message(
        Text(
            "không đo được dung lượng trống: {error}", "free space could not be measured: {error}"
        ),
    ),
    # the clock
    "clock_ok": Message(
        Text(
            "đồng hồ đã đồng bộ (sai số tối đa {error_ms} ms)",
            "synchronised (maximum error {error_ms} ms)",
        )
    ),
    "clock_unsynced": Message(
        Text(
            "đồng hồ chưa đồng bộ (sai số tối đa {error_s} s): giờ của số đo và cảnh báo có thể "
            "sai",
            "not synchronised (maximum error {error_s} s): readings and alarms may carry a wrong "
            "time",
        ),
        Text(
            "chạy: sudo timedatectl set-ntp true; kiểm tra mạng cho phép NTP (UDP 123) ra ngoài",
            "run: sudo timedatectl set-ntp true; check that the network lets NTP (UDP 123) out",
        ),
    ),
    "clock_unknown": Message(
        Text(
            "không đọc được trạng thái đồng hồ: {error}",
            "the clock's state could not be read: {error}",
        ),
        Text("chạy: timedatectl", "run: timedatectl"),
    ),
    # serial ports
    "serial_ok": Message(
        Text(
            "{node}: tài khoản {user} đọc/ghi được ({devices})",
            "{node}: account {user} may read and write it ({devices})",
        )
    ),
    "serial_missing": Message(
        Text("không tìm thấy cổng ({devices})", "the port is not there ({devices})"),
        Text(
            "cắm lại bộ chuyển đổi USB; xem tên đúng: ls -l /dev/serial/by-id/; sửa serial_port "
            "trong tệp cấu hình",
            "plug the USB adapter in again; see the right name: ls -l /dev/serial/by-id/; fix "
            "serial_port in the station file",
        ),
    ),
    "serial_not_char": Message(
        Text(
            "{node} không phải là cổng thiết bị (character device)",
            "{node} is not a device node (character device)",
        ),
        Text(
            "sửa serial_port trong tệp cấu hình: ls -l /dev/serial/by-id/",
            "fix serial_port in the station file: ls -l /dev/serial/by-id/",
        ),
    ),
    "serial_group": Message(
        Text(
            "{node}: tài khoản {user} không thuộc nhóm {group} nên không mở được cổng",
            "{node}: account {user} is not in group {group}, so it cannot open the port",
        ),
        Text(
            f"chạy: sudo usermod -aG {{group}} {{user}}, rồi: {_SERVICE}",
            f"run: sudo usermod -aG {{group}} {{user}}, then: {_SERVICE}",
        ),
    ),
    "serial_group_unit": Message(
        Text(
            "{node}: tài khoản {user} không thuộc nhóm {group}; dịch vụ vẫn mở được"
            " (unit systemd cấp nhóm {group}), nhưng lệnh chạy tay thì không",
            "{node}: account {user} is not in group {group}; the service may still open it"
            " (its systemd unit grants {group}), a command run by hand may not",
        ),
        Text("chạy: sudo usermod -aG {group} {user}", "run: sudo usermod -aG {group} {user}"),
    ),
    "serial_no_access": Message(
        Text(
            "{node}: tài khoản {user} không mở được (chủ {owner}, nhóm {group}, quyền {mode})",
            "{node}: account {user} cannot open it (owner {owner}, group {group}, mode {mode})",
        ),
        Text(
            "chạy: sudo chgrp dialout {node} && sudo chmod 660 {node}, rồi thêm tài khoản vào nhóm:"
            " sudo usermod -aG dialout {user}",
            "run: sudo chgrp dialout {node} && sudo chmod 660 {node}, then add the account to the"
            " group: sudo usermod -aG dialout {user}",
        ),
    ),
    # the trap port
    "trap_ok": Message(Text("{address} mở được", "{address} can be bound")),
    "trap_agent": Message(
        Text(
            "{address} đang do agent (pid {pid}) giữ",
            "{address} is held by the running agent (pid {pid})",
        )
    ),
    "trap_denied": Message(
        Text(
            "không được mở cổng {address}: cổng dưới 1024 cần quyền CAP_NET_BIND_SERVICE",
            "{address} may not be bound: a port below 1024 needs CAP_NET_BIND_SERVICE",
        ),
        Text(
            "unit systemd của fieldagent cấp quyền này (AmbientCapabilities=CAP_NET_BIND_SERVICE):"
            " chạy agent bằng systemctl; hoặc đặt [traps] port = 1162 (trên 1024)",
            "the fieldagent systemd unit grants it (AmbientCapabilities=CAP_NET_BIND_SERVICE): run"
            " the agent with systemctl; or set [traps] port = 1162 (above 1024)",
        ),
    ),
    "trap_in_use": Message(
        Text("{address} đã bị chiếm bởi {holder}", "{address} is already taken by {holder}"),
        Text(
            "dừng chương trình kia (snmptrapd: sudo systemctl disable --now snmptrapd), hoặc đổi "
            "[traps] port",
            "stop the other program (snmptrapd: sudo systemctl disable --now snmptrapd), or "
            "change [traps] port",
        ),
    ),
    "trap_no_address": Message(
        Text("{address}: địa chỉ này không thuộc máy này", "{address}: not an address of this box"),
        Text(
            "sửa [traps] listen: một địa chỉ của máy này (ip -br addr), hoặc bỏ dòng đó",
            "fix [traps] listen: an address of this box (ip -br addr), or leave it out",
        ),
    ),
    "trap_error": Message(
        Text("không mở được {address}: {error}", "{address} cannot be bound: {error}"),
    ),
    # the broker, step by step
    "dns_ok": Message(Text("{host} → {addresses}", "{host} → {addresses}")),
    "dns_ip": Message(
        Text("{host} là địa chỉ IP, không cần DNS", "{host} is an IP address: no DNS needed")
    ),
    "dns_failed": Message(
        Text("không phân giải được {host}: {error}", "{host} cannot be resolved: {error}"),
        Text(
            "kiểm tra đường truyền và máy chủ DNS (cat /etc/resolv.conf), hoặc ghi địa chỉ IP của "
            "broker vào mqtt.url",
            "check the uplink and the DNS server (cat /etc/resolv.conf), or write the broker's IP "
            "address in mqtt.url",
        ),
    ),
    "dns_timeout": Message(
        Text(
            "DNS không trả lời về {host} trong {timeout} s",
            "DNS gave no answer for {host} within {timeout} s",
        ),
        Text(
            "kiểm tra đường truyền và máy chủ DNS (cat /etc/resolv.conf)",
            "check the uplink and the DNS server (cat /etc/resolv.conf)",
        ),
    ),
    "tcp_ok": Message(Text("{address} trả lời sau {ms} ms", "{address} answered in {ms} ms")),
    "tcp_refused": Message(
        Text("{address} từ chối kết nối", "{address} refused the connection"),
        Text(
            "broker không nghe ở cổng này: kiểm tra cổng trong mqtt.url với quản trị tỉnh",
            "no broker listens on that port: check the port in mqtt.url with the province's admin",
        ),
    ),
    "tcp_timeout": Message(
        Text(
            "{address} không trả lời trong {timeout} s",
            "{address} gave no answer within {timeout} s",
        ),
        Text(
            "đường truyền đứt hoặc tường lửa chặn cổng: thử ping {host}, hỏi nhà mạng",
            "the link is down or a firewall drops the port: try ping {host}, ask the network "
            "provider",
        ),
    ),
    "tcp_error": Message(
        Text("không kết nối được {address}: {error}", "cannot connect to {address}: {error}"),
        Text(
            "kiểm tra đường truyền: ip route; ping {host}",
            "check the uplink: ip route; ping {host}",
        ),
    ),
    "tls_ok": Message(
        Text(
            "chứng chỉ hợp lệ, đúng tên {host}, còn {days} ngày (đến {date})",
            "certificate valid, issued to {host}, {days} days left (until {date})",
        )
    ),
    "tls_expiring": Message(
        Text(
            "chứng chỉ của broker chỉ còn {days} ngày (hết hạn {date})",
            "the broker's certificate expires in {days} days ({date})",
        ),
        Text(
            "báo quản trị tỉnh gia hạn chứng chỉ của broker trước {date}",
            "ask the province's admin to renew the broker's certificate before {date}",
        ),
    ),
    "tls_expired": Message(
        Text(
            "chứng chỉ của broker đã hết hạn ({reason})",
            "the broker's certificate has expired ({reason})",
        ),
        Text(
            "báo quản trị tỉnh gia hạn chứng chỉ; kiểm tra cả đồng hồ của máy này: date",
            "ask the province's admin to renew it; check this box's clock too: date",
        ),
    ),
    "tls_not_yet_valid": Message(
        Text(
            "chứng chỉ của broker chưa có hiệu lực ({reason})",
            "the broker's certificate is not valid yet ({reason})",
        ),
        Text(
            "đồng hồ của máy này có thể sai: date; sudo timedatectl set-ntp true",
            "this box's clock may be wrong: date; sudo timedatectl set-ntp true",
        ),
    ),
    "tls_untrusted": Message(
        Text(
            "chứng chỉ của broker không do CA đã cấu hình ({ca}) ký: {reason}",
            "the broker's certificate is not signed by the configured CA ({ca}): {reason}",
        ),
        Text(
            "lấy đúng tệp CA của tỉnh và ghi đường dẫn vào mqtt.ca_file",
            "get the province's CA file and give its path in mqtt.ca_file",
        ),
    ),
    "tls_hostname": Message(
        Text(
            "chứng chỉ của broker không cấp cho tên {host}: {reason}",
            "the broker's certificate is not issued to {host}: {reason}",
        ),
        Text(
            "dùng trong mqtt.url đúng tên (hoặc IP) ghi trong chứng chỉ của broker; hỏi quản trị "
            "tỉnh",
            "use in mqtt.url the name (or IP) the broker's certificate is issued to; ask the "
            "province's admin",
        ),
    ),
    "tls_verify_failed": Message(
        Text(
            "không kiểm tra được chứng chỉ của broker: {reason}",
            "the broker's certificate did not verify: {reason}",
        ),
        Text("gửi dòng này cho quản trị tỉnh", "send this line to the province's admin"),
    ),
    "tls_handshake": Message(
        Text("bắt tay TLS thất bại: {error}", "the TLS handshake failed: {error}"),
        Text(
            "cổng này có phải cổng TLS không (thường 8883)? kiểm tra mqtt.url",
            "is this port a TLS listener (usually 8883)? check mqtt.url",
        ),
    ),
    "tls_files": Message(
        Text("không đọc được tệp TLS: {error}", "a TLS file cannot be used: {error}"),
        Text(
            "kiểm tra mqtt.ca_file, cert_file, key_file trong tệp cấu hình",
            "check mqtt.ca_file, cert_file and key_file in the station file",
        ),
    ),
    "tls_unverified": Message(
        Text(
            "tls_verify = false: chứng chỉ của broker không được kiểm tra",
            "tls_verify = false: the broker's certificate is not checked",
        ),
        Text(
            "đặt tls_verify = true với ca_file của tỉnh",
            "set tls_verify = true with the province's ca_file",
        ),
    ),
    "auth_ok": Message(Text("broker chấp nhận {user}", "the broker accepted {user}")),
    "auth_refused": Message(
        Text("broker từ chối: {reason_vi} ({reason})", "the broker refused: {reason}"),
        Text(
            "kiểm tra mqtt.username và mật khẩu (mqtt.password_file) với quản trị tỉnh",
            "check mqtt.username and the password (mqtt.password_file) with the province's admin",
        ),
    ),
    "auth_failed": Message(
        Text("không kết nối MQTT được: {error}", "the MQTT connection failed: {error}"),
        Text("gửi dòng này cho quản trị tỉnh", "send this line to the province's admin"),
    ),
    "auth_timeout": Message(
        Text(
            "broker không trả lời đăng nhập trong {timeout} s",
            "the broker did not answer the login within {timeout} s",
        ),
        Text(
            "đường truyền chập chờn hoặc broker quá tải: chạy lại với --timeout 15",
            "the link is flaky or the broker overloaded: run again with --timeout 15",
        ),
    ),
    "publish_ok": Message(
        Text(
            "tin thử trên {topic} đã gửi và nhận lại sau {ms} ms",
            "a test message on {topic} went out and came back in {ms} ms",
        )
    ),
    "publish_lost": Message(
        Text(
            "tin thử trên {topic} không quay lại trong {timeout} s: broker có thể bỏ tin của "
            "{user} mà không báo (ACL)",
            "the test message on {topic} did not come back within {timeout} s: the broker may "
            "drop {user}'s messages silently (ACL)",
        ),
        Text(
            "báo quản trị tỉnh cho {user} quyền đọc và ghi {tree} (mosquitto acl_file: user "
            "{user} / topic readwrite {tree})",
            "ask the province's admin to let {user} read and write {tree} (mosquitto acl_file: "
            "user {user} / topic readwrite {tree})",
        ),
    ),
    # devices
    "device_ok": Message(
        Text(
            "{location} ({driver}): trả lời sau {ms} ms, {ok}/{total} giá trị đọc được",
            "{location} ({driver}): answered in {ms} ms, {ok}/{total} values read",
        )
    ),
    "device_unreachable": Message(
        Text(
            "{location} ({driver}) không trả lời: {error}",
            "{location} ({driver}) does not answer: {error}",
        ),
        Text(
            "kiểm tra thiết bị đã bật, cáp, địa chỉ/cổng và thông tin đăng nhập trong tệp cấu hình;"
            " thử: "
            "fieldagent poll -c {path} {device}",
            "check the device is on, the cable, the address / port and credentials in the station "
            "file; try: fieldagent poll -c {path} {device}",
        ),
    ),
    "device_wrong_driver": Message(
        Text(
            "{location} trả lời SNMP nhưng không có đối tượng nào của driver {driver}; fieldagent "
            "identify gợi ý: {suggested}",
            "{location} answers SNMP but none of driver {driver}'s objects; fieldagent identify "
            "suggests: {suggested}",
        ),
        Text(
            'đặt driver = "{first}" cho thiết bị {device} trong tệp cấu hình, rồi: fieldagent '
            "check-config -c {path}",
            'set driver = "{first}" for device {device} in the station file, then: fieldagent '
            "check-config -c {path}",
        ),
    ),
    "device_other_driver": Message(
        Text(
            "{location} ({driver}): {ok}/{total} giá trị đọc được, nhưng thiết bị tự nhận là"
            " {suggested} (fieldagent identify)",
            "{location} ({driver}): {ok}/{total} values read, but the device names itself"
            " {suggested} (fieldagent identify)",
        ),
        Text(
            'kiểm tra loại thiết bị; nếu đúng là {first}: đặt driver = "{first}" cho thiết bị'
            " {device}, rồi: fieldagent check-config -c {path}",
            'check the device\'s model; if it is a {first}: set driver = "{first}" for device'
            " {device}, then: fieldagent check-config -c {path}",
        ),
    ),
    "device_no_values": Message(
        Text(
            "{location} ({driver}) trả lời nhưng không có giá trị nào đọc được",
            "{location} ({driver}) answers, but not one value could be read",
        ),
        Text(
            "driver có thể không hợp thiết bị: fieldagent identify {host}",
            "the driver may not fit the device: fieldagent identify {host}",
        ),
    ),
}
