//! A private Redis Cluster per test: `masters * (1 + replicas)` `redis-server` processes on loopback ports, each
//! with its own data directory, joined by `redis-cli --cluster create`; nodes can be killed (failover tests) and
//! restarted, and everything is killed and removed on drop.
//!
//! Node indices are positions in creation order and never change; which of them are masters does (a failover
//! promotes a replica), so lookups such as [`RedisCluster::master_for_key`] always ask a live node.

use std::hash::BuildHasher;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redis::FromRedisValue;

/// The number of hash slots a Redis Cluster divides keys into.
const SLOTS: usize = 16384;

/// Cluster nodes also listen on `port + BUS_OFFSET` for the cluster bus.
const BUS_OFFSET: u16 = 10000;

/// One `redis-server` of the cluster.
struct Node {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Node {
    /// A node not started yet, on a fresh port pair and data directory.
    fn new() -> Node {
        Node { port: cluster_port(), dir: tempfile::tempdir().expect("tempdir"), child: None }
    }
}

/// A running Redis Cluster (see the module docs).
pub struct RedisCluster {
    nodes: Vec<Node>,
    /// The nodes that were masters when the cluster was created.
    seeds: Vec<usize>,
    /// Set by [`RedisCluster::kill_master`]: a slot the killed master served, and its replicas then.
    failed: Option<(u16, Vec<usize>)>,
}

impl RedisCluster {
    /// Starts `masters` masters with `replicas_per_master` replicas each, creates the cluster and waits until
    /// every node reports `cluster_state:ok` with all 16384 slots served, every node sees exactly `masters`
    /// masters and `masters * replicas_per_master` replicas of them, and every replica's link is up.
    pub fn start(masters: usize, replicas_per_master: usize) -> RedisCluster {
        assert!(masters >= 3, "redis-cli --cluster create needs at least 3 masters");
        let count = masters * (1 + replicas_per_master);
        let nodes = (0..count).map(|_| Node::new()).collect();
        let mut cluster = RedisCluster { nodes, seeds: Vec::new(), failed: None };
        for index in 0..count {
            // Another test may have taken the port since it was chosen: then try a fresh node elsewhere.
            let mut attempts = 0;
            while !cluster.spawn(index) {
                attempts += 1;
                assert!(attempts < 10, "redis-server did not start (see its redis.log)");
                cluster.nodes[index] = Node::new();
            }
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        create.args(cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)));
        create.args(["--cluster-replicas", &replicas_per_master.to_string(), "--cluster-yes"]);
        create.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = create.spawn().expect("redis-cli must be installed (make installs it)");
        // redis-cli waits for the nodes to agree without a time limit; give up after 30 s rather than hang.
        let exited = wait_until(Duration::from_secs(30), || !matches!(child.try_wait(), Ok(None)));
        if !exited {
            let _ = child.kill();
        }
        let out = child.wait_with_output().expect("redis-cli output");
        assert!(
            exited && out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let ready = wait_until(Duration::from_secs(30), || cluster.ready(masters, replicas_per_master));
        assert!(ready, "the cluster did not reach {masters} masters with {replicas_per_master} replicas each");
        let view = cluster.view().expect("a live node");
        cluster.seeds =
            (0..count).filter(|&i| view.iter().any(|l| l.port == cluster.nodes[i].port && l.is_master())).collect();
        assert_eq!(cluster.seeds.len(), masters, "the topology changed right after it was ready");
        cluster
    }

    /// Launches node `index` (again) on its port and data directory (a restarted node rejoins through its
    /// `nodes.conf`), and waits until it answers. False if it exited instead (its port or bus port is taken) or
    /// the process answering on the port is another one.
    fn spawn(&mut self, index: usize) -> bool {
        let node = &mut self.nodes[index];
        let mut child = Command::new("redis-server")
            .args(["--port", &node.port.to_string(), "--bind", "127.0.0.1", "--daemonize", "no"])
            .arg("--dir")
            .arg(node.dir.path())
            .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"])
            // A replica may always take over, however long it was cut off, and none migrates to another master.
            .args(["--cluster-replica-validity-factor", "0", "--cluster-allow-replica-migration", "no"])
            .args(["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""])
            // Replicas sync at once instead of after the default 5 s wait for more replicas.
            .args(["--repl-diskless-sync-delay", "0"])
            .args(["--loglevel", "warning", "--logfile"])
            .arg(node.dir.path().join("redis.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (make installs it)");
        let (port, ours) = (node.port, format!("process_id:{}\r\n", child.id()));
        let mut up = false;
        wait_until(Duration::from_secs(10), || {
            up = node_query::<String>(port, redis::cmd("INFO").arg("server")).is_ok_and(|info| info.contains(&ours));
            up || !matches!(child.try_wait(), Ok(None))
        });
        if !up {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        node.child = Some(child);
        true
    }

    /// `redis://127.0.0.1:PORT` of every node that was a master when the cluster was created.
    pub fn seed_urls(&self) -> Vec<String> {
        self.seeds.iter().map(|&i| self.url(i)).collect()
    }

    /// [`RedisCluster::seed_urls`] as a TOML array: `["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"]`.
    pub fn seed_list(&self) -> String {
        let quoted: Vec<String> = self.seed_urls().iter().map(|u| format!("\"{u}\"")).collect();
        format!("[{}]", quoted.join(", "))
    }

    /// `redis://127.0.0.1:PORT` of node `index`.
    pub fn url(&self, index: usize) -> String {
        format!("redis://127.0.0.1:{}", self.nodes[index].port)
    }

    /// How many nodes the cluster has (masters and replicas); indices run from 0 to this.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The index of the node currently serving `key`'s hash slot, as a live node sees it.
    pub fn master_for_key(&self, key: &str) -> usize {
        let port = self.live_port().expect("a live node");
        let slot: u16 = node_query(port, redis::cmd("CLUSTER").arg("KEYSLOT").arg(key)).expect("CLUSTER KEYSLOT");
        self.owner(port, slot).expect("the key's slot has a master")
    }

    /// The indices of the replicas of master `index`, as a live node sees them.
    pub fn replicas_of(&self, index: usize) -> Vec<usize> {
        let view = self.view().expect("a live node");
        let Some(me) = view.iter().find(|l| l.port == self.nodes[index].port) else { return Vec::new() };
        view.iter().filter(|l| l.master_id == me.id).filter_map(|l| self.index_of(l.port)).collect()
    }

    /// SIGKILLs master `index` and remembers one of its slots and its replicas for
    /// [`RedisCluster::wait_for_failover`].
    pub fn kill_master(&mut self, index: usize) {
        let view = self.view().expect("a live node");
        let me = view.iter().find(|l| l.port == self.nodes[index].port).expect("the node is in the cluster");
        assert!(me.is_master() && !me.slots.is_empty(), "node {index} is not a master serving slots");
        let replicas = view.iter().filter(|l| l.master_id == me.id).filter_map(|l| self.index_of(l.port)).collect();
        self.failed = Some((me.slots[0].0, replicas));
        self.kill_node(index);
    }

    /// Waits up to `timeout` for the failover after [`RedisCluster::kill_master`]: every live node reports
    /// `cluster_state:ok` with all slots served, and sees one of the killed master's replicas serving its slot.
    pub fn wait_for_failover(&self, timeout: Duration) -> bool {
        let (slot, replicas) = self.failed.as_ref().expect("kill_master first");
        wait_until(timeout, || {
            self.live_ports()
                .all(|port| cluster_ok(port) && self.owner(port, *slot).is_some_and(|owner| replicas.contains(&owner)))
        })
    }

    /// SIGKILLs node `index` (master or replica), as in a crash.
    pub fn kill_node(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `index` again on the same port and data directory; it rejoins the cluster (a former master
    /// comes back as a replica of whoever took over). Waits until every live node reports `cluster_state:ok`.
    pub fn restart_node(&mut self, index: usize) {
        self.kill_node(index);
        assert!(self.spawn(index), "redis-server did not restart (see its redis.log)");
        let port = self.nodes[index].port;
        let rejoined = |live: u16| {
            cluster_ok(live)
                && self.view_from(live).is_some_and(|v| v.iter().any(|l| l.port == port && !l.flags.contains("fail")))
        };
        assert!(wait_until(Duration::from_secs(30), || self.live_ports().all(rejoined)), "the node did not rejoin");
    }

    /// Ready after creation, in the topology asked for: every node is up and reports `cluster_state:ok` with all
    /// slots served; its view (`CLUSTER NODES`) holds all nodes, `masters` of them masters serving slots and the
    /// others replicas of those masters, `replicas` each; and every replica's link to its master is up. Until
    /// `redis-cli --cluster create` has assigned the replicas and gossip has spread it, a node still sees every
    /// other node as a master: a view read then is not the cluster the tests assert.
    fn ready(&self, masters: usize, replicas: usize) -> bool {
        let count = masters * (1 + replicas);
        self.live_ports().all(|port| {
            let Ok(repl) = node_query::<String>(port, redis::cmd("INFO").arg("replication")) else { return false };
            let Some(view) = self.view_from(port) else { return false };
            let serving: Vec<&NodeLine> = view.iter().filter(|l| l.is_master() && !l.slots.is_empty()).collect();
            let of_each = serving
                .iter()
                .all(|m| view.iter().filter(|l| l.is_replica() && l.master_id == m.id).count() == replicas);
            cluster_ok(port)
                && view.len() == count
                && serving.len() == masters
                && view.iter().filter(|l| l.is_replica()).count() == masters * replicas
                && of_each
                && (repl.contains("role:master") || repl.contains("master_link_status:up"))
        })
    }

    /// The ports of the nodes not killed.
    fn live_ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes.iter().filter(|n| n.child.is_some()).map(|n| n.port)
    }

    fn live_port(&self) -> Option<u16> {
        self.live_ports().next()
    }

    fn index_of(&self, port: u16) -> Option<usize> {
        self.nodes.iter().position(|n| n.port == port)
    }

    /// `CLUSTER NODES` as the first live node sees it.
    fn view(&self) -> Option<Vec<NodeLine>> {
        self.view_from(self.live_port()?)
    }

    fn view_from(&self, port: u16) -> Option<Vec<NodeLine>> {
        let text: String = node_query(port, redis::cmd("CLUSTER").arg("NODES")).ok()?;
        Some(text.lines().filter_map(NodeLine::parse).collect())
    }

    /// The index of the master (not marked failed) serving `slot`, as node `port` sees it.
    fn owner(&self, port: u16, slot: u16) -> Option<usize> {
        let view = self.view_from(port)?;
        let line = view.iter().find(|l| {
            l.is_master() && !l.flags.contains("fail") && l.slots.iter().any(|&(a, b)| (a..=b).contains(&slot))
        })?;
        self.index_of(line.port)
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.kill_node(index);
        }
    }
}

/// One line of `CLUSTER NODES`: `<id> <ip:port@bus> <flags> <master-id> <ping> <pong> <epoch> <link> <slots>...`.
struct NodeLine {
    id: String,
    port: u16,
    flags: String,
    master_id: String,
    slots: Vec<(u16, u16)>,
}

impl NodeLine {
    fn parse(line: &str) -> Option<NodeLine> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let addr = fields.get(1)?.split(['@', ',']).next()?;
        let port = addr.rsplit(':').next()?.parse().ok()?;
        // Slot fields are `N` or `A-B`; `[N->-id]`/`[N-<-id]` (slots migrating) are skipped.
        let slots = fields.get(8..)?.iter().filter(|s| !s.starts_with('[')).filter_map(|s| {
            let (a, b) = s.split_once('-').unwrap_or((s, s));
            Some((a.parse().ok()?, b.parse().ok()?))
        });
        Some(NodeLine {
            id: fields[0].to_owned(),
            port,
            flags: fields.get(2)?.to_string(),
            master_id: fields.get(3)?.to_string(),
            slots: slots.collect(),
        })
    }

    fn is_master(&self) -> bool {
        self.flags.split(',').any(|f| f == "master")
    }

    fn is_replica(&self) -> bool {
        self.flags.split(',').any(|f| f == "slave")
    }
}

/// Whether node `port` reports `cluster_state:ok` with every slot served by a master it does not consider failed.
fn cluster_ok(port: u16) -> bool {
    node_query::<String>(port, redis::cmd("CLUSTER").arg("INFO")).is_ok_and(|info| {
        info.contains("cluster_state:ok\r\n") && info.contains(&format!("cluster_slots_ok:{SLOTS}\r\n"))
    })
}

/// Runs one command against the single node on `port` (no redirects), with short timeouts so polling a dead or
/// hung node fails fast.
fn node_query<T: FromRedisValue>(port: u16, cmd: &redis::Cmd) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_millis(500))?;
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    cmd.query(&mut conn)
}

/// A random loopback port that is free now and whose bus port (`+10000`) is free too. Ports come from
/// 12000..22000 (bus 22000..32000), below the kernel's ephemeral range (32768+), so [`crate::free_port`] and
/// outgoing connections never collide with them. Two tests may still pick the same port at once: the loser's
/// `redis-server` fails to bind and [`RedisCluster::start`] retries elsewhere.
fn cluster_port() -> u16 {
    const BASE: u16 = 12000;
    const SPAN: u16 = 10000;
    for _ in 0..1000 {
        // Each `RandomState` has fresh keys, so this is a new random number per call.
        let random = std::collections::hash_map::RandomState::new().hash_one(());
        let port = BASE + (random % u64::from(SPAN)) as u16;
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + BUS_OFFSET) {
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

/// [`crate::wait_until`] with a 100 ms poll: each check here opens several connections.
fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A blocking connection to a Redis Cluster through redis-rs's cluster client (it follows `MOVED`/`ASK` and
/// re-reads the slot map after a failover), for tests that run many commands.
pub struct ClusterConnection {
    runtime: tokio::runtime::Runtime,
    conn: redis::cluster_async::ClusterConnection,
}

impl ClusterConnection {
    /// Connects through `seeds` (any of them may be down, as long as one answers).
    pub fn open(seeds: &[String]) -> ClusterConnection {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        // The connection's driver lives on the runtime that made it, so both happen on `runtime`.
        let conn = runtime.block_on(async {
            let client = redis::cluster::ClusterClient::builder(seeds.to_vec())
                // `WAIT` and reads during a failover can take longer than the default.
                .response_timeout(Duration::from_secs(10))
                .build()
                .expect("cluster seeds");
            client.get_async_connection().await.expect("connect to the test cluster")
        });
        ClusterConnection { runtime, conn }
    }

    /// Runs one command, routed by its key.
    pub fn query<T: FromRedisValue>(&mut self, cmd: &redis::Cmd) -> T {
        self.runtime.block_on(cmd.query_async(&mut self.conn)).expect("redis cluster command")
    }

    /// Runs a pipeline on the node serving its first key (all keys must share a slot; keyless commands such as
    /// `WAIT` go along to that node, on the same connection).
    pub fn query_pipe<T: FromRedisValue>(&mut self, pipe: &redis::Pipeline) -> T {
        self.runtime.block_on(pipe.query_async(&mut self.conn)).expect("redis cluster pipeline")
    }
}

/// Runs one command against the cluster reached through `seeds`, with a fresh [`ClusterConnection`].
pub fn cluster_query<T: FromRedisValue>(seeds: &[String], cmd: &redis::Cmd) -> T {
    ClusterConnection::open(seeds).query(cmd)
}
