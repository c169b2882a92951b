-- The Lua row of the offline benchmark (test/bench/offline.sh): raw mode,
-- every packet through process(), reading the two fields a script nearly
-- always reads, the payload's size and its bytes.
--
--   tcpkit -r capture.pcap -p 6379 -m raw -S test/bench/lua-raw.lua
local packets, bytes, with_payload = 0, 0, 0

function process(packet)
  packets = packets + 1
  bytes = bytes + packet.size
  local payload = packet.payload
  if payload ~= nil and #payload > 0 then
    with_payload = with_payload + 1
  end
end

-- Called once at the end where tcpkit supports it; the benchmark checks the
-- count against the capture's.
function process_end()
  print(string.format("lua-raw: %d packets, %d with payload, %d payload bytes", packets, with_payload, bytes))
end
