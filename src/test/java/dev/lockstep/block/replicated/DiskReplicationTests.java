package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.ForwardingDevice;
import dev.lockstep.block.overlay.MemoryDevice;
import dev.lockstep.block.replicated.protocol.ReplicationKind;
import dev.lockstep.replication.ReplicationMode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * The status text and the start failures of one disk's replication, on in-process
 * engines.
 */
class DiskReplicationTests {

	private static final int SIZE = 4 * 1024 * 1024;

	private static final URI A = URI.create("nbd://a:1");

	private static final URI B = URI.create("nbd://b:1");

	@TempDir
	Path dir;

	private final Map<URI, InProcessEngine> network = new ConcurrentHashMap<>();

	@Test
	void statusTextDoesNotDependOnTheDefaultLocale() throws Exception {
		Locale saved = Locale.getDefault();
		Locale.setDefault(Locale.forLanguageTag("tr-TR"));
		try {
			BlockReplicationParticipant participant = participant(engine(A, new MemoryDevice(SIZE)), B,
					ReplicationKind.COLO);
			try {
				DiskReplicationStatus idle = participant.status().disks().get(0);
				assertThat(idle.role()).isEqualTo("idle");
				assertThat(idle.replication()).isEqualTo("colo");
				participant.start(ReplicationMode.SECONDARY);
				participant.stop(true);
				assertThat(participant.status().disks().get(0).role()).isEqualTo("failed_over");
			}
			finally {
				participant.close();
			}
		}
		finally {
			Locale.setDefault(saved);
		}
	}

	@Test
	void aRefusedStartIsPassedOnAsItIs() throws Exception {
		BlockReplicationParticipant secondary = participant(engine(B, new MemoryDevice(SIZE)), A,
				ReplicationKind.MIRROR);
		BlockReplicationParticipant primary = participant(engine(A, new MemoryDevice(SIZE)), B, ReplicationKind.COLO);
		try {
			secondary.start(ReplicationMode.SECONDARY);
			assertThatExceptionOfType(Exception.class).isThrownBy(() -> primary.start(ReplicationMode.PRIMARY))
				.withMessageStartingWith("Cannot start disk 'disk0' as primary: the secondary " + B
						+ " replicates it as mirror, but this node is configured for colo");
			assertThat(primary.status().disks().get(0).role()).isEqualTo("idle");
		}
		finally {
			primary.close();
			secondary.close();
		}
	}

	/**
	 * Whether a failure is wrapped depends on its type, not on its text: a failure during
	 * the synchronisation whose message happens to read like a refusal is still reported
	 * as a failed start of this disk with this secondary.
	 */
	@Test
	void aFailureDuringTheSynchronisationIsWrappedWhateverItsMessage() throws Exception {
		BlockDevice failing = new ForwardingDevice(new MemoryDevice(SIZE)) {

			@Override
			public void read(long offset, ByteBuffer dst) throws IOException {
				throw new IOException("Cannot start disk spin-up: medium error");
			}

			@Override
			public List<Extent> allocation(long offset, long length) {
				return List.of(new Extent(length, false, false));
			}

		};
		BlockReplicationParticipant secondary = participant(engine(B, failing), A, ReplicationKind.COLO);
		BlockReplicationParticipant primary = participant(engine(A, new MemoryDevice(SIZE)), B, ReplicationKind.COLO);
		try {
			secondary.start(ReplicationMode.SECONDARY);
			assertThatExceptionOfType(IOException.class).isThrownBy(() -> primary.start(ReplicationMode.PRIMARY))
				.withMessage("Cannot start disk 'disk0' as primary with secondary " + B
						+ ": Cannot start disk spin-up: medium error");
			assertThat(primary.status().disks().get(0).role()).isEqualTo("idle");
			assertThat(primary.error()).isEmpty();
		}
		finally {
			primary.close();
			secondary.close();
		}
	}

	private InProcessEngine engine(URI address, BlockDevice device) {
		String name = address.getHost();
		return new InProcessEngine(this.network, address,
				List.of(InProcessEngine.disk("disk0", this.dir.resolve(name + ".img"), device)));
	}

	private static BlockReplicationParticipant participant(InProcessEngine engine, URI peer, ReplicationKind kind)
			throws IOException {
		return new BlockReplicationParticipant(engine,
				new BlockReplicationProperties(peer, List.of(new BlockReplicationProperties.Disk("disk0", kind)),
						new BlockReplicationProperties.Replication("block", 0, Duration.ofMinutes(1),
								Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5), 64,
								Duration.ZERO)));
	}

}
