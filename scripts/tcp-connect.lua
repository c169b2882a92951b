-- TCP connect time, and how many SYNs it took: one line per connection the
-- server answered (SYN+ACK) or refused (RST); SYNs left unanswered are listed
-- when the capture ends. A slow connect with retries > 0 is a lost SYN (or a
-- full accept queue), not a slow server.
--
--   sudo tcpkit -i eth0 -p 80 -S scripts/tcp-connect.lua

local SYN, RST, ACK = 2, 4, 16
local syns = {}

-- "10.0.0.2:5353", "[fd00::2]:5353"
local function endpoint(ip, port)
    if string.find(ip, ":", 1, true) then return "[" .. ip .. "]:" .. port end
    return ip .. ":" .. port
end

local function stamp(sec, usec)
    return os.date("%Y-%m-%d %H:%M:%S", sec) .. string.format(".%06d", usec)
end

print(string.format("%-26s %-47s %7s %12s", "time", "client => server", "retries", "connect ms"))

function process(packet)
    -- Only TCP packets without payload: the handshake.
    if packet.size ~= 0 or packet.flags == nil then return end
    if packet.request then
        if bit32.band(packet.flags, SYN + ACK) == SYN then
            local key = endpoint(packet.sip, packet.sport) .. " => " .. endpoint(packet.dip, packet.dport)
            local first = syns[key]
            if first and first.seq == packet.seq then
                first.retries = first.retries + 1 -- the same SYN again: a retransmission
            else
                syns[key] = { seq = packet.seq, retries = 0, sec = packet.tv_sec, usec = packet.tv_usec }
            end
        end
        return
    end
    local key = endpoint(packet.dip, packet.dport) .. " => " .. endpoint(packet.sip, packet.sport)
    local first = syns[key]
    if not first then return end
    local outcome
    if bit32.band(packet.flags, SYN + ACK) == SYN + ACK then
        outcome = ""
    elseif bit32.btest(packet.flags, RST) then
        outcome = " refused"
    else
        return
    end
    local sec, usec = packet.tv_sec, packet.tv_usec
    if usec < first.usec then
        sec = sec - 1
        usec = usec + 1000000
    end
    print(string.format("%-26s %-47s %7u %8d.%03d%s", stamp(packet.tv_sec, packet.tv_usec), key, first.retries,
        (sec - first.sec) * 1000 + math.floor((usec - first.usec) / 1000), (usec - first.usec) % 1000, outcome))
    syns[key] = nil
end

function process_end()
    local keys = {}
    for key in pairs(syns) do keys[#keys + 1] = key end
    table.sort(keys)
    for _, key in ipairs(keys) do
        local first = syns[key]
        print(string.format("%-26s %-47s %7u %12s", stamp(first.sec, first.usec), key, first.retries, "no answer"))
    end
end
