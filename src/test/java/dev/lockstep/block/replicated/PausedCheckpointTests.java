package dev.lockstep.block.replicated;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A checkpoint with the workload paused, on two Lockstep nodes in one JVM: the primary's
 * block participant holds new client writes at its export, lets reads through, and admits
 * the held writes after the checkpoint, in order.
 */
class PausedCheckpointTests {

	@TempDir
	Path dir;

	private LockstepNode a;

	private LockstepNode b;

	@AfterEach
	void stopNodes() throws Exception {
		LockstepNode.closeAll(this.a, this.b);
	}

	@Test
	void aWriteIssuedDuringThePauseCompletesAfterResumeAndLandsAfterTheCheckpoint() throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		// A generous deadline: the test's own qemu-io runs must not race the watchdog.
		this.a = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], "8MiB", "colo")
			.with("lockstep.pair.max-pause=30s")
			.start();
		this.b = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], "8MiB", "colo").start();
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		assertThat(this.a.start("primary").status()).isEqualTo(200);
		this.a.io("disk0", "write -P 0x11 0 64k");
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);

		LockstepNode.Response pause = this.a.post("/api/v1/replication/pause", null);
		assertThat(pause.status()).as(pause.body()).isEqualTo(200);
		assertThat(pause.body()).contains("\"operation\":\"pause\"", "\"participant\":\"block\"");
		assertThat(this.b.post("/api/v1/replication/pause", null).status()).isEqualTo(200);
		Process writer = new ProcessBuilder("qemu-io", "-f", "raw", this.a.uri("disk0"), "-c", "write -P 0x22 0 64k")
			.redirectErrorStream(true)
			.start();
		// Reads go on while the write is held back.
		this.a.io("disk0", "read -P 0x11 0 64k");
		assertThat(writer.waitFor(500, TimeUnit.MILLISECONDS)).as("the write is held while paused").isFalse();
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		assertThat(writer.isAlive()).as("the write is still held after the checkpoint").isTrue();

		LockstepNode.Response resume = this.a.post("/api/v1/replication/resume", null);
		assertThat(resume.status()).as(resume.body()).isEqualTo(200);
		assertThat(resume.body()).contains("\"operation\":\"resume\"", "\"pausedMillis\":");
		assertThat(this.b.post("/api/v1/replication/resume", null).status()).isEqualTo(200);
		assertThat(writer.waitFor(30, TimeUnit.SECONDS)).as("the held write completes after resume").isTrue();
		String output = new String(writer.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		assertThat(writer.exitValue()).as(output).isZero();
		assertThat(output).contains("wrote 65536/65536 bytes");
		this.a.io("disk0", "read -P 0x22 0 64k");
		// The checkpoint taken while paused did not include the held write ...
		this.b.io("disk0", "read -P 0x11 0 64k");
		// ... the next one does.
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		this.b.io("disk0", "read -P 0x22 0 64k");
		assertThat(this.a.get("/actuator/prometheus").body()).contains("lockstep_pair_pause_seconds_count 1");
	}

}
