-- A packet printer, in the style of the original tool's example.lua: one
-- line per packet that carries data, with its time, endpoints and payload.
--
--   sudo tcpkit -i eth0 -p 6379 -S scripts/example.lua
--
-- process_packet(item) is the name the original blog post used; tcpkit
-- calls it, or process(packet), for every packet it matches.

local SHOWN = 256 -- payload bytes shown; the rest is marked "..."

-- Control bytes and backslashes as escapes, so one packet stays one line.
local function printable(s)
    local more = ""
    if #s > SHOWN then
        s, more = string.sub(s, 1, SHOWN), "..."
    end
    return (string.gsub(s, "[%c\\\128-\255]", function(c)
        local b = string.byte(c)
        if b == 13 then return "\\r" elseif b == 10 then return "\\n" elseif b == 92 then return "\\\\" end
        return string.format("\\x%02x", b)
    end)) .. more
end

function process_packet(item)
    -- SYN, FIN and pure ACKs carry nothing: skip them.
    if item.len > 0 then
        local time_str = os.date("%Y-%m-%d %H:%M:%S", item.tv_sec) .. string.format(".%06d", item.tv_usec)
        local network_str = item.sip .. ":" .. item.sport .. "=>" .. item.dip .. ":" .. item.dport
        local direction = item.request and "REQ" or "RSP"
        print(time_str, network_str, direction, item.len, printable(item.payload))
    end
end
