package dev.lockstep.block.replicated;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.replicated.primary.SyncStatus;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pair API on two real nodes, each the other's peer: one call starts, checkpoints and
 * switches over the pair through both nodes' own lifecycles, and the data is checked with
 * qemu-io and qemu-img compare.
 */
class PairOperationsTests {

	private static final JsonMapper json = JsonMapper.builder().build();

	@TempDir
	Path dir;

	private LockstepNode a;

	private LockstepNode b;

	@AfterEach
	void stopNodes() throws Exception {
		LockstepNode.closeAll(this.a, this.b);
	}

	/** A and B, each the other's peer for NBD and for the API. */
	private void nodes(int peerNbdOfB) throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		this.a = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], "8MiB", "colo")
			.with("lockstep.pair.peer-api=http://127.0.0.1:" + ports[2])
			.start();
		this.b = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3],
				(peerNbdOfB != 0) ? peerNbdOfB : ports[1], "8MiB", "colo")
			.with("lockstep.pair.peer-api=http://127.0.0.1:" + ports[0])
			.start();
	}

	@Test
	void oneCallStartsCheckpointsAndSwitchesOverThePair() throws Exception {
		nodes(0);
		LockstepNode.Response started = this.a.post("/api/v1/pair/start", "{\"primary\":\"self\"}");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
		JsonNode report = json.readTree(started.body());
		assertThat(report.path("outcome").asString()).isEqualTo("succeeded");
		assertThat(report.path("primary").asString()).isEqualTo("self");
		// The secondary's start came first, on the peer.
		assertThat(report.path("steps").get(0).path("node").asString()).isEqualTo("peer");
		assertThat(report.path("steps").get(0).path("action").asString()).isEqualTo("start");
		assertThat(report.path("steps").get(report.path("steps").size() - 1).path("node").asString()).isEqualTo("self");
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"mode\":\"primary\"");
		assertThat(this.b.get("/api/v1/replication").body()).contains("\"mode\":\"secondary\"");
		// The report is findable on the peer, as the peer sees it.
		JsonNode onB = json.readTree(this.b.get("/api/v1/pair/operations/" + report.path("id").asString()).body());
		assertThat(onB.path("primary").asString()).isEqualTo("peer");
		assertThat(onB.path("steps").get(0).path("node").asString()).isEqualTo("self");

		this.a.io("disk0", "write -P 0x11 0 1M");
		JsonNode pair = json.readTree(this.b.get("/api/v1/pair").body());
		assertThat(pair.path("primary").asString()).isEqualTo("peer");
		assertThat(pair.path("peerReachable").asBoolean()).isTrue();
		assertThat(pair.path("inSync").asBoolean()).isTrue();

		// Either node checkpoints the pair, phased: both paused, the primary's
		// checkpoint,
		// then the secondary's, both resumed.
		LockstepNode.Response checkpoint = this.b.post("/api/v1/pair/checkpoint", "");
		assertThat(checkpoint.status()).as(checkpoint.body()).isEqualTo(200);
		JsonNode checkpointed = json.readTree(checkpoint.body());
		List<String> order = new ArrayList<>();
		for (JsonNode step : checkpointed.path("steps")) {
			order.add(step.path("node").asString() + " " + step.path("action").asString());
		}
		assertThat(order).containsExactly("peer pause", "self pause", "peer checkpoint", "self checkpoint",
				"self resume", "peer resume");
		assertThat(checkpointed.path("pausedMillis").isNumber()).isTrue();
		DataGenerationTests.compare(this.a.uri("disk0"), this.b.uri("disk0"));

		LockstepNode.Response switched = this.a.post("/api/v1/pair/switchover", "");
		assertThat(switched.status()).as(switched.body()).isEqualTo(200);
		JsonNode switchover = json.readTree(switched.body());
		assertThat(switchover.path("primary").asString()).isEqualTo("peer");
		assertThat(switchover.path("note").asString()).contains("reconnect");
		assertThat(this.b.get("/api/v1/replication").body()).contains("\"mode\":\"primary\"");
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"mode\":\"secondary\"");
		SyncStatus sync = this.b.disk().sync();
		assertThat(sync).isNotNull();
		assertThat(sync.method()).as(sync.reason()).isEqualTo("none");
		assertThat(sync.comparedBytes()).isZero();
		assertThat(sync.copiedBytes()).isZero();
		DataGenerationTests.compare(this.b.uri("disk0"), this.a.uri("disk0.replica"));
		this.b.io("disk0", "write -P 0x22 2M 64k");
		this.a.io("disk0.replica", "read -P 0x22 2M 64k");
		this.a.io("disk0.replica", "read -P 0x11 0 1M");
	}

	@Test
	void aPairStartThatFailsHalfwayLeavesBothNodesIdle() throws Exception {
		// B, to be primary, points its NBD peer at a port where nothing listens.
		nodes(LockstepNode.freePorts(1)[0]);
		LockstepNode.Response refused = this.a.post("/api/v1/pair/start", "{\"primary\":\"peer\"}");
		assertThat(refused.status()).as(refused.body()).isEqualTo(502);
		JsonNode problem = json.readTree(refused.body());
		assertThat(problem.path("type").asString()).isEqualTo("urn:lockstep:problem:pair-failed");
		assertThat(problem.path("detail").asString()).contains("The peer node failed").contains("was stopped again");
		JsonNode steps = problem.path("report").path("steps");
		assertThat(steps.get(0).path("node").asString()).isEqualTo("self");
		assertThat(steps.get(steps.size() - 1).path("action").asString()).isEqualTo("stop");
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"state\":\"IDLE\"");
		assertThat(this.b.get("/api/v1/replication").body()).contains("\"state\":\"IDLE\"");
	}

	@Test
	void withoutAPeerEveryPairCallSaysWhatToConfigure() throws Exception {
		int[] ports = LockstepNode.freePorts(3);
		this.a = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[2], "8MiB", "colo").start();
		for (LockstepNode.Response answer : new LockstepNode.Response[] { this.a.get("/api/v1/pair"),
				this.a.post("/api/v1/pair/checkpoint", ""), this.a.post("/api/v1/pair/switchover", ""),
				this.a.post("/api/v1/pair/start", "{\"primary\":\"self\"}") }) {
			assertThat(answer.status()).as(answer.body()).isEqualTo(409);
			JsonNode problem = json.readTree(answer.body());
			assertThat(problem.path("type").asString()).isEqualTo("urn:lockstep:problem:pair-not-configured");
			assertThat(problem.path("detail").asString()).contains("lockstep.pair.peer-api");
		}
		assertThat(this.a.get("/api/v1/replication").body()).contains("\"state\":\"IDLE\"");
	}

	@Test
	void aPairCheckpointOfAPairThatDoesNotRunIsRefusedAndCallsNothing() throws Exception {
		nodes(0);
		LockstepNode.Response refused = this.a.post("/api/v1/pair/checkpoint", "");
		assertThat(refused.status()).as(refused.body()).isEqualTo(409);
		assertThat(json.readTree(refused.body()).path("detail").asString()).contains("The pair does not run")
			.contains("POST /api/v1/pair/start");
		assertThat(this.a.get("/api/v1/replication/operations").body()).isEqualTo("[]");
		assertThat(this.b.get("/api/v1/replication/operations").body()).isEqualTo("[]");
	}

}
