-- Kafka latency from raw packets, the successor of the original tool's
-- kafka_monitor.lua: one line per answered request,
--
--   2020-01-26 00:53:20.001300 | 10.0.0.1:9092 | 10.0.0.2:40000 | Produce Topics: orders audit | 2.000 ms
--
--   sudo tcpkit -i eth0 -p 9092 -S scripts/kafka.lua
--
-- Requests pair with responses by correlation id on their own connection
-- (the original kept one global table, which leaked and mixed clients), for
-- every API key; Produce with acks=0 is not waited for. Messages split over
-- segments are put back together, retransmissions skipped. Topics are named
-- for Produce, Fetch, ListOffsets and Metadata. tcpkit's own -m kafka says
-- more (versions, partitions, error codes, long polls) and is the better
-- choice when it fits.

local NAMES = {
    [0] = "Produce", "Fetch", "ListOffsets", "Metadata", "LeaderAndIsr", "StopReplica", "UpdateMetadata",
    "ControlledShutdown", "OffsetCommit", "OffsetFetch", "FindCoordinator", "JoinGroup", "Heartbeat", "LeaveGroup",
    "SyncGroup", "DescribeGroups", "ListGroups", "SaslHandshake", "ApiVersions", "CreateTopics", "DeleteTopics",
    "DeleteRecords", "InitProducerId", "OffsetForLeaderEpoch", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn",
    "WriteTxnMarkers", "TxnOffsetCommit", "DescribeAcls", "CreateAcls", "DeleteAcls", "DescribeConfigs", "AlterConfigs",
    "AlterReplicaLogDirs", "DescribeLogDirs", "SaslAuthenticate", "CreatePartitions", "CreateDelegationToken",
    "RenewDelegationToken", "ExpireDelegationToken", "DescribeDelegationToken", "DeleteGroups", "ElectLeaders",
    "IncrementalAlterConfigs", "AlterPartitionReassignments", "ListPartitionReassignments", "OffsetDelete",
    "DescribeClientQuotas", "AlterClientQuotas", "DescribeUserScramCredentials", "AlterUserScramCredentials", "Vote",
    "BeginQuorumEpoch", "EndQuorumEpoch", "DescribeQuorum", "AlterPartition", "UpdateFeatures", "Envelope",
    "FetchSnapshot", "DescribeCluster", "DescribeProducers", "BrokerRegistration", "BrokerHeartbeat",
    "UnregisterBroker", "DescribeTransactions", "ListTransactions", "AllocateProducerIds", "ConsumerGroupHeartbeat",
    "ConsumerGroupDescribe", "ControllerRegistration", "GetTelemetrySubscriptions", "PushTelemetry",
    "AssignReplicasToDirs", "ListConfigResources", "DescribeTopicPartitions", "ShareGroupHeartbeat",
    "ShareGroupDescribe", "ShareFetch", "ShareAcknowledge", "AddRaftVoter", "RemoveRaftVoter", "UpdateRaftVoter",
    "InitializeShareGroupState", "ReadShareGroupState", "WriteShareGroupState", "DeleteShareGroupState",
    "ReadShareGroupStateSummary", "StreamsGroupHeartbeat", "StreamsGroupDescribe", "DescribeShareGroupOffsets",
    "AlterShareGroupOffsets", "DeleteShareGroupOffsets",
}
-- The first flexible version (compact strings, tagged fields) of the APIs
-- whose bodies this script reads, and of the rest for the request header.
local FLEXIBLE = {
    [0] = 9, 12, 6, 9, 4, 2, 6, 3, 8, 6, 3, 6, 4, 4, 4, 5, 3, 99, 3, 5, 4, 2, 2, 4, 3, 3, 3, 1, 3, 2, 2, 2, 4, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 1, 0, 0, 99, 1, 1,
}
local HEAD = 65536 -- bytes of a message kept for reading its header and topics
local MAX_MESSAGE = 1073741824

local streams = {} -- per connection and direction: { next = seq, buf = bytes, skip = n }
local waiting = {} -- per connection: requests by correlation id

local function endpoint(ip, port)
    if string.find(ip, ":", 1, true) then return "[" .. ip .. "]:" .. port end
    return ip .. ":" .. port
end

-- Readers over a message string; each returns the value and the next position.
local function u8(s, p) return string.byte(s, p), p + 1 end
local function i16(s, p)
    local a, b = string.byte(s, p, p + 1)
    local v = a * 256 + b
    if v >= 32768 then v = v - 65536 end
    return v, p + 2
end
local function i32(s, p)
    local a, b, c, d = string.byte(s, p, p + 3)
    local v = ((a * 256 + b) * 256 + c) * 256 + d
    if v >= 2147483648 then v = v - 4294967296 end
    return v, p + 4
end
local function uvarint(s, p)
    local v, mul = 0, 1
    for _ = 1, 5 do
        local b = string.byte(s, p)
        p = p + 1
        v = v + (b % 128) * mul
        if b < 128 then return v, p end
        mul = mul * 128
    end
    error("varint too long")
end
local function str(s, p, flex)
    local n
    if flex then n, p = uvarint(s, p); n = n - 1 else n, p = i16(s, p) end
    if n < 0 then return nil, p end
    if p + n - 1 > #s then error("cut") end
    return string.sub(s, p, p + n - 1), p + n
end
local function count(s, p, flex)
    local n
    if flex then n, p = uvarint(s, p); n = n - 1 else n, p = i32(s, p) end
    return n, p
end
local function skip_bytes(s, p, flex)
    local n
    n, p = count(s, p, flex)
    if n > 0 then p = p + n end
    return p
end
local function tags(s, p, flex)
    if not flex then return p end
    local n
    n, p = uvarint(s, p)
    for _ = 1, n do
        local size
        _, p = uvarint(s, p)
        size, p = uvarint(s, p)
        p = p + size
    end
    return p
end

-- The topics a request names, as a list; filled as far as the bytes go.
local function topics_of(s, p, key, ver, flex, out)
    local acks
    if key == 0 then -- Produce
        if ver >= 3 then _, p = str(s, p, flex) end
        acks, p = i16(s, p)
        p = p + 4
    elseif key == 1 then -- Fetch
        if ver < 15 then p = p + 4 end
        p = p + 8
        if ver >= 3 then p = p + 4 end
        if ver >= 4 then p = p + 1 end
        if ver >= 7 then p = p + 8 end
    elseif key == 2 then -- ListOffsets
        p = p + 4
        if ver >= 2 then p = p + 1 end
    elseif key ~= 3 then -- Metadata
        return acks
    end
    local n
    n, p = count(s, p, flex)
    for _ = 1, n do
        local name
        if key == 3 and ver >= 10 then p = p + 16 end
        if (key == 0 or key == 1) and ver >= 13 then
            name = "(topic id)"
            p = p + 16
        else
            name, p = str(s, p, flex)
        end
        out[#out + 1] = name or "(all)"
        if key ~= 3 then
            local parts
            parts, p = count(s, p, flex)
            for _ = 1, parts do
                p = p + 4
                if key == 0 then
                    p = skip_bytes(s, p, flex)
                elseif key == 1 then
                    if ver >= 9 then p = p + 4 end
                    p = p + 8
                    if ver >= 12 then p = p + 4 end
                    if ver >= 5 then p = p + 8 end
                    p = p + 4
                else
                    if ver >= 4 then p = p + 4 end
                    p = p + 8
                    if ver == 0 then p = p + 4 end
                end
                p = tags(s, p, flex)
            end
        end
        p = tags(s, p, flex)
    end
    return acks
end

local function on_request(conn, msg, sec, usec)
    local key, ver, corr, p, acks
    key, p = i16(msg, 1)
    ver, p = i16(msg, p)
    corr, p = i32(msg, p)
    local flex = ver >= (FLEXIBLE[key] or 0)
    local topics = {}
    local ok = pcall(function()
        _, p = str(msg, p, false) -- client_id: never compact
        p = tags(msg, p, flex)
        acks = topics_of(msg, p, key, ver, flex, topics)
    end)
    if ok and key == 0 and acks == 0 then return end -- acks=0: the broker will not answer
    local text = NAMES[key] or ("api_key " .. key)
    if #topics > 0 then text = text .. " Topics: " .. table.concat(topics, " ") end
    local byid = waiting[conn] or {}
    waiting[conn] = byid
    byid[corr] = { text = text, sec = sec, usec = usec }
end

local function on_response(conn, server, client, msg, sec, usec)
    local corr = i32(msg, 1)
    local byid = waiting[conn]
    local req = byid and byid[corr]
    if not req then return end
    byid[corr] = nil
    local ms = (sec - req.sec) * 1000 + (usec - req.usec) / 1000
    local time_str = os.date("%Y-%m-%d %H:%M:%S", sec) .. string.format(".%06d", usec)
    print(string.format("%s | %s | %s | %s | %.3f ms", time_str, server, client, req.text, ms))
end

-- New bytes of one direction, in order: whole messages (or their first HEAD bytes) are handled.
local function feed(st, data, handle)
    if st.skip > 0 then
        if #data <= st.skip then
            st.skip = st.skip - #data
            return
        end
        data = string.sub(data, st.skip + 1)
        st.skip = 0
        st.sec, st.usec = st.now_sec, st.now_usec
    end
    local buf = st.buf .. data
    while #buf >= 4 do
        local size = i32(buf, 1)
        if size < 4 or size > MAX_MESSAGE then buf = ""; break end -- lost the framing
        if #buf >= 4 + size then
            handle(string.sub(buf, 5, 4 + size), st.sec, st.usec)
            buf = string.sub(buf, 5 + size)
            st.sec, st.usec = st.now_sec, st.now_usec
        elseif #buf >= 4 + HEAD then
            handle(string.sub(buf, 5, 4 + HEAD), st.sec, st.usec)
            st.skip = 4 + size - #buf
            buf = ""
        else
            break
        end
    end
    st.buf = buf
end

function process(packet)
    if packet.size == 0 then return end
    local client, server
    if packet.request then
        client, server = endpoint(packet.sip, packet.sport), endpoint(packet.dip, packet.dport)
    else
        client, server = endpoint(packet.dip, packet.dport), endpoint(packet.sip, packet.sport)
    end
    local conn = client .. " " .. server
    local side = conn .. (packet.request and " >" or " <")
    local st = streams[side]
    local seq, data = packet.seq, packet.payload
    if not st then
        st = { next = seq, buf = "", skip = 0 }
        streams[side] = st
    end
    local behind = (st.next - seq) % 4294967296
    if behind > 0 and behind < 2147483648 then -- a retransmission, or an overlap
        if behind >= #data then return end
        data = string.sub(data, behind + 1)
    elseif behind ~= 0 then -- a hole: start over at this segment
        st.buf, st.skip = "", 0
    end
    st.next = (seq + packet.size) % 4294967296
    -- A message's time is when its first byte came.
    if #st.buf == 0 and st.skip == 0 then st.sec, st.usec = packet.tv_sec, packet.tv_usec end
    st.now_sec, st.now_usec = packet.tv_sec, packet.tv_usec
    if packet.request then
        feed(st, data, function(msg, sec, usec) on_request(conn, msg, sec, usec) end)
    else
        feed(st, data, function(msg, sec, usec) on_response(conn, server, client, msg, sec, usec) end)
    end
end
