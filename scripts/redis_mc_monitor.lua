-- Redis and memcached latency from raw packets, as the original tool's
-- redis_mc_monitor.lua: a line per request, in tcpkit's line format, on any
-- port and without a protocol mode.
--
--   sudo tcpkit -i eth0 -p 6379 -S scripts/redis_mc_monitor.lua
--   sudo tcpkit -i eth0 -p 11211 -S scripts/redis_mc_monitor.lua
--
-- A response packet answers the oldest request waiting on its connection;
-- tcpkit's own -m redis / -m memcached pair exactly (pipelining, replies
-- split over packets) and are the better choice when they fit.

local MAX_ARG = 64 -- longer arguments are shortened, as tcpkit's lines do
local waiting = {} -- per connection: requests in the order sent
local last_seq = {} -- per connection: the last request segment, to skip retransmissions
local unfinished = {} -- per connection and direction: the last segment did not end a line

-- "10.0.0.2:5353", "[fd00::2]:5353"
local function endpoint(ip, port)
    if string.find(ip, ":", 1, true) then return "[" .. ip .. "]:" .. port end
    return ip .. ":" .. port
end

-- "SET key value" from a RESP array; nil if the payload is not one.
local function resp_command(s)
    local n, pos = string.match(s, "^%*(%d+)\r\n()")
    if not n then return nil end
    local words = {}
    for _ = 1, tonumber(n) do
        local len, start = string.match(s, "^%$(%d+)\r\n()", pos)
        if not len then break end
        local word = string.sub(s, start, start + len - 1)
        if #word > MAX_ARG then word = string.sub(word, 1, MAX_ARG) .. "..." end
        words[#words + 1] = word
        pos = start + len + 2
    end
    return table.concat(words, " ")
end

-- The command a request packet starts, or nil for the rest of a long request.
local function command(s)
    if string.byte(s, 1) == 42 then return resp_command(s) end -- '*'
    if string.byte(s, 1) == 0x80 then -- memcached binary
        return string.format("binary opcode 0x%02x", string.byte(s, 2) or 0)
    end
    return string.match(s, "^(%a[%w_]* ?[^\r\n]*)\r\n")
end

-- True when the packet goes on a message an earlier packet began (a long
-- value split over segments): it starts no request and answers none.
local function continues(side, payload)
    local before = unfinished[side]
    unfinished[side] = string.sub(payload, -2) ~= "\r\n"
    return before
end

function process(packet)
    if packet.size == 0 then return end
    local key, queue
    if packet.request then
        key = endpoint(packet.sip, packet.sport) .. " => " .. endpoint(packet.dip, packet.dport)
        if last_seq[key] == packet.seq then return end
        last_seq[key] = packet.seq
        if continues(key .. " >", packet.payload) then return end
        local text = command(packet.payload)
        if not text then return end
        queue = waiting[key] or {}
        waiting[key] = queue
        queue[#queue + 1] = { text = text, sec = packet.tv_sec, usec = packet.tv_usec }
        return
    end
    key = endpoint(packet.dip, packet.dport) .. " => " .. endpoint(packet.sip, packet.sport)
    if continues(key .. " <", packet.payload) then return end
    queue = waiting[key]
    if not queue or #queue == 0 then return end
    local req = table.remove(queue, 1)
    local ms = (packet.tv_sec - req.sec) * 1000 + (packet.tv_usec - req.usec) / 1000
    local time_str = os.date("%Y-%m-%d %H:%M:%S", packet.tv_sec) .. string.format(".%06d", packet.tv_usec)
    print(string.format("%s %s | %.3f ms | %s", time_str, key, ms, req.text))
end
