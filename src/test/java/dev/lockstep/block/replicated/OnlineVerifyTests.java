package dev.lockstep.block.replicated;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.TestBytes;
import dev.lockstep.block.nbd.Tools;
import dev.lockstep.block.replicated.primary.VerifyStatus;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The online verify ({@code POST /api/v1/disks/{name}/verify}) on two Lockstep nodes in
 * one JVM, with data written by qemu-io and checked with qemu-img compare.
 */
class OnlineVerifyTests {

	private static final int MiB = 1024 * 1024;

	@TempDir
	Path dir;

	private LockstepNode a;

	private LockstepNode b;

	@AfterEach
	void stopNodes() throws Exception {
		LockstepNode.closeAll(this.a, this.b);
	}

	/** Starts B as secondary and A as primary of a {@code colo} disk. */
	private void pair(String size) throws Exception {
		int[] ports = LockstepNode.freePorts(4);
		this.a = new LockstepNode("a", this.dir.resolve("a"), ports[0], ports[1], ports[3], size, "colo").start();
		this.b = new LockstepNode("b", this.dir.resolve("b"), ports[2], ports[3], ports[1], size, "colo").start();
		assertThat(this.b.start("secondary").status()).isEqualTo(200);
		LockstepNode.Response started = this.a.start("primary");
		assertThat(started.status()).as(started.body()).isEqualTo(200);
	}

	@Test
	void findsExactlyTheCorruptedChunkOfTheSecondaryAndRepairsIt() throws Exception {
		pair("8MiB");
		this.a.io("disk0", "write -P 0x11 0 8M");
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		// Corrupt 512 bytes inside chunk 5 of the secondary's image, behind its back.
		long corrupted = 5L * MiB;
		try (FileChannel image = FileChannel.open(this.b.dir.resolve("disk0.img"), StandardOpenOption.WRITE)) {
			image.write(ByteBuffer.wrap(TestBytes.fill(512, 0xEE)), corrupted + 4096);
			image.force(true);
		}
		assertThat(compare(this.a.uri("disk0"), this.b.uri("disk0.replica")).exitCode()).isEqualTo(1);

		HttpResponse<String> accepted = postVerify(null);
		assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
		assertThat(accepted.headers().firstValue("Location")).hasValue("/api/v1/disks/disk0");
		assertThat(accepted.body()).contains("\"running\":true").contains("\"repair\":false");
		VerifyStatus found = awaitVerify();
		assertThat(found.state()).isEqualTo("completed");
		assertThat(found.comparedBytes()).isEqualTo(8L * MiB);
		assertThat(found.mismatchedChunks()).isEqualTo(1);
		assertThat(found.mismatchedOffsets()).containsExactly(corrupted);
		assertThat(found.repairedChunks()).isZero();
		assertThat(found.finishedAt()).isNotNull();
		assertThat(this.a.get("/api/v1/disks/disk0").body()).contains("\"mismatchedChunks\":1")
			.contains("\"mismatchedOffsets\":[" + corrupted + "]")
			.contains("\"running\":false");
		// The chunk is marked for the next synchronisation; the verify changed nothing on
		// the secondary, which goes on taking checkpoints.
		assertThat(this.a.participant().status().disks().get(0).dirtyBytes()).isEqualTo(MiB);
		assertThat(this.a.get("/actuator/prometheus").body())
			.contains("lockstep_replication_verify_mismatched_chunks{disk=\"disk0\"} 1.0")
			.contains("lockstep_replication_verify_compared_bytes{disk=\"disk0\"} " + (8.0 * MiB));
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		assertThat(compare(this.a.uri("disk0"), this.b.uri("disk0.replica")).exitCode()).isEqualTo(1);

		assertThat(postVerify("{\"repair\":true}").statusCode()).isEqualTo(202);
		VerifyStatus repaired = awaitVerify();
		assertThat(repaired.state()).isEqualTo("completed");
		assertThat(repaired.repair()).isTrue();
		assertThat(repaired.mismatchedOffsets()).containsExactly(corrupted);
		assertThat(repaired.repairedChunks()).isEqualTo(1);
		Tools.Result same = compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
		assertThat(same.exitCode()).as(same.output()).isZero();
		assertThat(this.a.participant().status().disks().get(0).dirtyBytes()).isZero();
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
		same = compare(this.a.uri("disk0"), this.b.uri("disk0"));
		assertThat(same.exitCode()).as(same.output()).isZero();

		// A third verify finds nothing.
		assertThat(postVerify(null).statusCode()).isEqualTo(202);
		assertThat(awaitVerify().mismatchedChunks()).isZero();
	}

	@Test
	void aHealthyPairVerifiesWithoutMismatchesWhileClientsWrite() throws Exception {
		pair("128MiB");
		this.a.io("disk0", "write -P 0x21 0 128M");
		BlockDevice disk = this.a.participant().device("disk0");
		AtomicBoolean writing = new AtomicBoolean(true);
		AtomicLong writes = new AtomicLong();
		Thread writer = new Thread(() -> {
			Random random = new Random(17);
			byte[] data = new byte[64 * 1024];
			try {
				while (writing.get()) {
					random.nextBytes(data);
					disk.write((long) random.nextInt(128 * 16) * data.length, ByteBuffer.wrap(data), false);
					writes.incrementAndGet();
				}
			}
			catch (Exception ex) {
				throw new IllegalStateException(ex);
			}
		});
		writer.start();
		try {
			assertThat(postVerify(null).statusCode()).isEqualTo(202);
			// One verify at a time.
			HttpResponse<String> second = postVerify("{\"repair\":true}");
			assertThat(second.statusCode()).isEqualTo(409);
			assertThat(second.body()).contains("\"type\":\"urn:lockstep:problem:verify-refused\"")
				.contains("A verify of disk 'disk0' is running since");
			// A verify changes nothing on the secondary: the pair goes on checkpointing.
			assertThat(this.a.checkpoint().status()).isEqualTo(200);
			assertThat(this.b.checkpoint().status()).isEqualTo(200);
			VerifyStatus verified = awaitVerify();
			assertThat(verified.state()).isEqualTo("completed");
			assertThat(verified.comparedBytes()).isEqualTo(128L * MiB);
			assertThat(verified.mismatchedChunks()).isZero();
		}
		finally {
			writing.set(false);
			writer.join();
		}
		assertThat(writes.get()).isPositive();
		assertThat(this.a.participant().status().disks().get(0).dirtyBytes()).isZero();
		Tools.Result same = compare(this.a.uri("disk0"), this.b.uri("disk0.replica"));
		assertThat(same.exitCode()).as(same.output()).isZero();
		assertThat(this.a.checkpoint().status()).isEqualTo(200);
		assertThat(this.b.checkpoint().status()).isEqualTo(200);
	}

	@Test
	void aStopCancelsARunningVerify() throws Exception {
		pair("256MiB");
		this.a.io("disk0", "write -P 0x31 0 256M");
		assertThat(postVerify(null).statusCode()).isEqualTo(202);
		assertThat(this.a.stop(false).status()).isEqualTo(200);
		VerifyStatus cancelled = this.a.participant().status().disks().get(0).verify();
		assertThat(cancelled.state()).isEqualTo("cancelled");
		assertThat(cancelled.running()).isFalse();
		assertThat(cancelled.error()).isEqualTo("cancelled: replication stopped");
		assertThat(cancelled.comparedBytes()).isLessThan(256L * MiB);
		assertThat(cancelled.finishedAt()).isNotNull();
		// Idle now: a verify is refused with the reason.
		HttpResponse<String> refused = postVerify(null);
		assertThat(refused.statusCode()).isEqualTo(409);
		assertThat(refused.body()).contains("it is not replicating");
		assertThat(this.a.get("/api/v1/disks/disk0").body()).contains("\"state\":\"cancelled\"");
	}

	private HttpResponse<String> postVerify(String body) throws Exception {
		HttpRequest.Builder request = HttpRequest
			.newBuilder(URI.create("http://127.0.0.1:" + this.a.httpPort + "/api/v1/disks/disk0/verify"))
			.timeout(Duration.ofSeconds(60))
			.header("Authorization", "Bearer " + LockstepNode.TOKEN);
		if (body != null) {
			request.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
		}
		else {
			request.POST(HttpRequest.BodyPublishers.noBody());
		}
		return LockstepNode.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
	}

	private VerifyStatus awaitVerify() throws InterruptedException {
		long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
		VerifyStatus status = this.a.participant().status().disks().get(0).verify();
		while (status != null && status.running() && System.nanoTime() < deadline) {
			Thread.sleep(20);
			status = this.a.participant().status().disks().get(0).verify();
		}
		assertThat(status).isNotNull();
		assertThat(status.running()).as(status.toString()).isFalse();
		return status;
	}

	private static Tools.Result compare(String first, String second) throws Exception {
		return Tools.run(60, "qemu-img", "compare", "-f", "raw", "-F", "raw", first, second);
	}

}
