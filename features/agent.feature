Feature: pulse-agent ships its host's metrics over MQTT
  pulse-agent measures its host every interval (CPU, memory, swap,
  filesystems, disks, network, load, uptime, named after the OpenTelemetry
  system semantic conventions) and publishes one JSON array per interval to
  metrics/<tenant>/system/<agent id> at QoS 1, as the token's broker account.
  Every sample carries the tags host and agent_id, plus the --tag ones.
  A batch the broker has not acknowledged waits in an on-disk spool; when the
  broker is back the spool drains oldest first, before newer batches, and
  every batch keeps the time it was collected at.

  Background:
    Given a tenant with a token scoped "ingest,read"

  Scenario: A dry run prints the batch it would publish and exits
    When I run the agent with "--once --dry-run --tag env=lab"
    Then it prints a JSON array whose every sample carries the tags "host,agent_id,env"
    And the array holds samples named:
      | system.cpu.utilization        |
      | system.memory.usage           |
      | system.memory.utilization     |
      | system.paging.usage           |
      | system.filesystem.usage       |
      | system.disk.io                |
      | system.network.io             |
      | system.cpu.load_average.1m    |
      | system.uptime                 |
      | pulse.agent.spool.dropped     |

  Scenario: The agent's samples are queryable under the OpenTelemetry names
    When the agent publishes to the embedded broker every 500ms
    Then within 30 seconds these metrics have points tagged with the agent's id:
      | system.cpu.utilization        |
      | system.memory.usage           |
      | system.memory.utilization     |
      | system.filesystem.usage       |
      | system.network.io             |
      | system.cpu.load_average.5m    |
      | system.uptime                 |
      | pulse.agent.spool.batches     |

  Scenario: Batches collected while the broker is away arrive afterwards, once, in order, with their own time
    Given the agent publishes through a relay to the embedded broker every 250ms
    And 3 batches have arrived
    When the relay is down for 3 seconds
    And the relay is back
    Then within 60 seconds the agent's spool is empty and live batches arrive again
    And every batch arrived once and in the order it was collected
    And no batch is missing between the first and the last
    And at least 8 batches stamped inside the outage arrived
    And every batch that arrived is stored under the time it was collected at

  Scenario: The spool survives a kill -9 of the agent
    Given the agent publishes through a relay to the embedded broker every 250ms
    And 2 batches have arrived
    When the relay goes down
    And the agent's spool holds 6 batches
    And the agent is killed with SIGKILL
    And a new agent starts on the same spool
    And the relay is back
    Then within 60 seconds the agent's spool is empty and live batches arrive again
    And every batch arrived once and in the order it was collected
    And every batch spooled before the kill arrived with its original time
    And every batch that arrived is stored under the time it was collected at
