package dev.lockstep.block.replicated;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.overlay.MemoryDevice;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.block.replicated.protocol.ReplicationKind;

import static dev.lockstep.block.TestBytes.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Random writes on both nodes, checkpoints, failovers, broken links and rejoins, over
 * many seeds, with every byte of every export compared after each step to an in-memory
 * model of what COLO (or mirror) semantics require.
 */
class ReplicationModelTests {

	private static final int SIZE = 2 * 1024 * 1024 + 12 * 1024;

	private static final int SEEDS = Integer.getInteger("model.seeds", 16);

	private static final int STEPS = 50;

	@TempDir
	Path dir;

	@ParameterizedTest
	@EnumSource(ReplicationKind.class)
	void everyExportMatchesTheModel(ReplicationKind kind) throws Exception {
		for (int seed = 0; seed < SEEDS; seed++) {
			run(kind, seed);
		}
	}

	private void run(ReplicationKind kind, long seed) throws Exception {
		Random random = new Random(seed);
		Map<URI, InProcessEngine> network = new ConcurrentHashMap<>();
		Node a = new Node("a", network, kind, seed, random);
		Node b = new Node("b", network, kind, seed, random);
		a.peer(b);
		b.peer(a);
		try {
			new Run(kind, random, a, b, "seed " + seed + " (" + kind + ")").go();
		}
		finally {
			a.participant.close();
			b.participant.close();
		}
	}

	private final class Node {

		final String name;

		final URI address;

		final Map<URI, InProcessEngine> network;

		final MemoryDevice disk;

		final InProcessEngine engine;

		final ReplicationKind kind;

		BlockReplicationParticipant participant;

		Node(String name, Map<URI, InProcessEngine> network, ReplicationKind kind, long seed, Random random)
				throws Exception {
			this.name = name;
			this.network = network;
			this.kind = kind;
			this.address = URI.create("nbd://" + name + ":10809");
			byte[] content = new byte[SIZE];
			random.nextBytes(content);
			this.disk = new MemoryDevice(content);
			Path image = ReplicationModelTests.this.dir.resolve(seed + "-" + name + ".img");
			this.engine = new InProcessEngine(network, this.address,
					List.of(InProcessEngine.disk("disk0", image, this.disk)));
		}

		void peer(Node other) throws Exception {
			this.participant = new BlockReplicationParticipant(this.engine,
					new BlockReplicationProperties(other.address,
							List.of(new BlockReplicationProperties.Disk("disk0", this.kind)),
							new BlockReplicationProperties.Replication("block", 0, java.time.Duration.ofMinutes(1),
									java.time.Duration.ofSeconds(5), java.time.Duration.ofSeconds(5),
									java.time.Duration.ofSeconds(5), 64, java.time.Duration.ZERO)));
		}

		BlockDevice export() {
			return this.engine.export("disk0");
		}

		byte[] content() throws Exception {
			return readAll(export());
		}

	}

	private final class Run {

		final ReplicationKind kind;

		final Random random;

		final String label;

		Node primary;

		Node secondary;

		/** The primary's disk. */
		byte[] p;

		/** The secondary's base image. */
		byte[] s;

		/** The secondary workload's view. */
		byte[] v;

		boolean linkUp = true;

		boolean replicating;

		Run(ReplicationKind kind, Random random, Node a, Node b, String label) {
			this.kind = kind;
			this.random = random;
			this.primary = a;
			this.secondary = b;
			this.label = label;
		}

		void go() throws Exception {
			startBoth();
			for (int step = 0; step < STEPS; step++) {
				int op = this.random.nextInt(100);
				String what;
				if (op < 40) {
					what = primaryWrite();
				}
				else if (op < 60) {
					what = secondaryWrite();
				}
				else if (op < 75) {
					what = checkpoint();
				}
				else if (op < 82) {
					what = secondaryFailoverAndRejoin();
				}
				else if (op < 88) {
					what = brokenLinkPrimaryFailoverAndRejoin();
				}
				else if (op < 93) {
					what = plannedStopAndRestart();
				}
				else {
					what = "verify";
				}
				verify(this.label + ", step " + step + ": " + what);
			}
		}

		void startBoth() throws Exception {
			this.secondary.participant.start(ReplicationMode.SECONDARY);
			this.v = this.secondary.disk.snapshot();
			this.primary.participant.start(ReplicationMode.PRIMARY);
			this.p = this.primary.disk.snapshot();
			this.s = this.p.clone();
			if (this.kind == ReplicationKind.MIRROR) {
				this.v = this.s;
			}
			this.replicating = true;
			this.linkUp = true;
			assertThat(this.primary.participant.error()).as(this.label).isEmpty();
			verify(this.label + ": after start");
		}

		String primaryWrite() throws Exception {
			int offset = this.random.nextInt(SIZE - 1);
			int length = 1 + this.random.nextInt(Math.min(SIZE - offset, 200_000));
			BlockDevice device = this.primary.export();
			int kindOfWrite = this.random.nextInt(10);
			byte[] data = new byte[length];
			if (kindOfWrite < 7) {
				this.random.nextBytes(data);
				device.write(offset, ByteBuffer.wrap(data), this.random.nextBoolean());
			}
			else if (kindOfWrite < 9) {
				device.writeZeroes(offset, length, this.random.nextBoolean(), false);
			}
			else {
				device.trim(offset, length, false);
			}
			System.arraycopy(data, 0, this.p, offset, length);
			if (this.replicating && this.linkUp) {
				System.arraycopy(data, 0, this.s, offset, length);
			}
			return "primary write " + offset + "+" + length;
		}

		String secondaryWrite() throws Exception {
			if (!this.replicating) {
				return "none";
			}
			int offset = this.random.nextInt(SIZE - 1);
			int length = 1 + this.random.nextInt(Math.min(SIZE - offset, 200_000));
			byte[] data = new byte[length];
			this.random.nextBytes(data);
			BlockDevice device = this.secondary.export();
			if (this.kind == ReplicationKind.MIRROR) {
				assertThat(device.readOnly()).isTrue();
				assertThatExceptionOfType(java.io.IOException.class)
					.isThrownBy(() -> device.write(offset, ByteBuffer.wrap(data), false));
				return "secondary write refused";
			}
			if (this.random.nextInt(4) == 0) {
				device.writeZeroes(offset, length, true, false);
				Arrays.fill(data, (byte) 0);
			}
			else {
				device.write(offset, ByteBuffer.wrap(data), false);
			}
			System.arraycopy(data, 0, this.v, offset, length);
			return "secondary write " + offset + "+" + length;
		}

		String checkpoint() throws Exception {
			if (!this.replicating) {
				return "none";
			}
			if (!this.linkUp) {
				assertThatExceptionOfType(Exception.class).isThrownBy(this.primary.participant::checkpoint)
					.withMessageContaining("unreachable");
				return "checkpoint refused";
			}
			this.primary.participant.checkpoint();
			this.secondary.participant.checkpoint();
			if (this.kind == ReplicationKind.COLO) {
				this.v = this.p.clone();
			}
			return "checkpoint";
		}

		/**
		 * The primary dies; the secondary takes over; the old primary rejoins as
		 * secondary.
		 */
		String secondaryFailoverAndRejoin() throws Exception {
			if (!this.replicating) {
				return "none";
			}
			this.secondary.participant.stop(true);
			byte[] survivor = (this.kind == ReplicationKind.COLO) ? this.v : this.s;
			assertThat(same(this.secondary.content(), survivor)).as(this.label + ": failover keeps the view").isTrue();
			assertThat(this.secondary.participant.status().disks().get(0).role()).isEqualTo("failed_over");
			// Ignored after failover, as in QEMU.
			this.secondary.participant.checkpoint();
			this.secondary.participant.stop(false);
			assertThat(same(this.secondary.content(), survivor)).isTrue();
			// The old primary is repaired: it stops, and rejoins as secondary.
			this.primary.participant.stop(false);
			Node newPrimary = this.secondary;
			this.secondary = this.primary;
			this.primary = newPrimary;
			this.primary.engine.severed = false;
			this.secondary.engine.severed = false;
			startBoth();
			return "secondary failover and rejoin";
		}

		/**
		 * The link breaks; the primary carries on alone, tracks dirty chunks, then both
		 * resynchronise.
		 */
		String brokenLinkPrimaryFailoverAndRejoin() throws Exception {
			if (!this.replicating) {
				return "none";
			}
			this.primary.engine.severed = true;
			this.linkUp = false;
			primaryWrite();
			assertThat(this.primary.participant.error()).as(this.label)
				.hasValueSatisfying(
						(message) -> assertThat(message).contains("secondary").contains("unreachable since"));
			verify(this.label + ": after the link broke");
			this.primary.participant.stop(true);
			this.replicating = false;
			primaryWrite();
			verify(this.label + ": primary alone");
			this.secondary.participant.stop(false);
			this.primary.engine.severed = false;
			startBoth();
			return "broken link, primary failover, resync";
		}

		String plannedStopAndRestart() throws Exception {
			if (!this.replicating) {
				return "none";
			}
			this.primary.participant.stop(false);
			this.secondary.participant.stop(false);
			this.replicating = false;
			// Without overlays the secondary shows its base, which has every forwarded
			// write.
			this.v = this.s;
			verify(this.label + ": stopped");
			startBoth();
			return "planned stop and restart";
		}

		void verify(String step) throws Exception {
			assertThat(same(this.primary.content(), this.p)).as(step + ": primary export").isTrue();
			if (this.replicating) {
				assertThat(same(this.secondary.content(), this.v)).as(step + ": secondary workload view").isTrue();
				assertThat(same(readAll(this.secondary.engine.export("disk0.replica")), this.s))
					.as(step + ": secondary base")
					.isTrue();
			}
			else {
				assertThat(same(this.secondary.content(), this.v)).as(step + ": secondary alone").isTrue();
			}
		}

	}

	static boolean same(byte[] actual, byte[] expected) {
		int mismatch = Arrays.mismatch(actual, expected);
		if (mismatch >= 0) {
			System.err.println("first difference at byte " + mismatch);
		}
		return mismatch < 0;
	}

}
