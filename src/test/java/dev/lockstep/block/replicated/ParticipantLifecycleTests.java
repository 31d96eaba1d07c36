package dev.lockstep.block.replicated;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.ForwardingDevice;
import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.overlay.MemoryDevice;
import dev.lockstep.replication.ReplicationMode;
import dev.lockstep.block.replicated.protocol.ReplicationKind;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class ParticipantLifecycleTests {

	private static final int SIZE = 32 * 1024 * 1024;

	@TempDir
	Path dir;

	private static BlockReplicationProperties properties(URI peer, ReplicationKind kind) {
		return new BlockReplicationProperties(peer, List.of(new BlockReplicationProperties.Disk("disk0", kind)),
				new BlockReplicationProperties.Replication("block", 0, Duration.ofMinutes(1), Duration.ofSeconds(5),
						Duration.ofSeconds(5), Duration.ofSeconds(5), 64, Duration.ZERO));
	}

	/**
	 * The coordinator interrupts a start that overran its deadline. The synchronisation
	 * must stop, leave the disk idle, and never let the interrupt reach the image's file
	 * channel (which an interrupt would close).
	 */
	@Test
	void interruptedStartGivesUpAndLeavesTheImageUsable() throws Exception {
		Map<URI, InProcessEngine> network = new ConcurrentHashMap<>();
		URI aAddress = URI.create("nbd://a:1");
		URI bAddress = URI.create("nbd://b:1");
		byte[] content = new byte[SIZE];
		new Random(1).nextBytes(content);
		try (FileBlockDevice image = FileBlockDevice.open(this.dir.resolve("a.img"), SIZE, false)) {
			image.write(0, ByteBuffer.wrap(content), false);
			InProcessEngine a = new InProcessEngine(network, aAddress,
					List.of(InProcessEngine.disk("disk0", this.dir.resolve("a.img"), image)));
			InProcessEngine b = new InProcessEngine(network, bAddress, List
				.of(InProcessEngine.disk("disk0", this.dir.resolve("b.img"), new SlowDevice(new MemoryDevice(SIZE)))));
			BlockReplicationParticipant primary = new BlockReplicationParticipant(a,
					properties(bAddress, ReplicationKind.COLO));
			BlockReplicationParticipant secondary = new BlockReplicationParticipant(b,
					properties(aAddress, ReplicationKind.COLO));
			try {
				secondary.start(ReplicationMode.SECONDARY);
				AtomicReference<Throwable> outcome = new AtomicReference<>();
				Thread caller = new Thread(() -> {
					try {
						primary.start(ReplicationMode.PRIMARY);
					}
					catch (Throwable ex) {
						outcome.set(ex);
					}
				});
				caller.start();
				Thread.sleep(300);
				assertThat(primary.status().disks().get(0).sync().running()).isTrue();
				caller.interrupt();
				caller.join(30_000);
				assertThat(caller.isAlive()).isFalse();
				assertThat(outcome.get()).isInstanceOf(InterruptedException.class);
				DiskReplicationStatus status = primary.status().disks().get(0);
				assertThat(status.role()).isEqualTo("idle");
				assertThat(status.sync().running()).isFalse();
				assertThat(status.sync().copiedBytes()).isLessThan(SIZE);
				assertThat(primary.error()).isEmpty();
				// The image is still open and serving.
				ByteBuffer check = ByteBuffer.allocate(4096);
				a.export("disk0").read(0, check);
				assertThat(check.array()).isEqualTo(java.util.Arrays.copyOf(content, 4096));
				a.export("disk0").write(0, ByteBuffer.wrap(new byte[512]), true);
				// A later start completes.
				primary.start(ReplicationMode.PRIMARY);
				assertThat(primary.status().disks().get(0).role()).isEqualTo("primary");
			}
			finally {
				primary.close();
				secondary.close();
			}
		}
	}

	@Test
	void startWithoutPeerFailsClearlyAndAnIdleDiskReportsNoError() throws Exception {
		BlockReplicationParticipant primary = withoutPeer();
		try {
			assertThatExceptionOfType(IllegalStateException.class)
				.isThrownBy(() -> primary.start(ReplicationMode.PRIMARY))
				.withMessageContaining("lockstep.block.peer");
			assertThat(primary.error()).isEmpty();
			assertThat(primary.status().disks().get(0).role()).isEqualTo("idle");
			// stop while idle is harmless
			primary.stop(false);
		}
		finally {
			primary.close();
		}
	}

	@Test
	void metersFollowTheRolesTheForwardingTheOverlaysAndTheFaults() throws Exception {
		Map<URI, InProcessEngine> network = new ConcurrentHashMap<>();
		URI aAddress = URI.create("nbd://a:1");
		URI bAddress = URI.create("nbd://b:1");
		byte[] content = new byte[SIZE];
		new Random(2).nextBytes(content);
		InProcessEngine a = new InProcessEngine(network, aAddress,
				List.of(InProcessEngine.disk("disk0", this.dir.resolve("a.img"), new MemoryDevice(content.clone()))));
		InProcessEngine b = new InProcessEngine(network, bAddress,
				List.of(InProcessEngine.disk("disk0", this.dir.resolve("b.img"), new MemoryDevice(SIZE))));
		BlockReplicationParticipant primary = new BlockReplicationParticipant(a,
				properties(bAddress, ReplicationKind.COLO));
		BlockReplicationParticipant secondary = new BlockReplicationParticipant(b,
				properties(aAddress, ReplicationKind.COLO));
		SimpleMeterRegistry aMeters = new SimpleMeterRegistry();
		SimpleMeterRegistry bMeters = new SimpleMeterRegistry();
		primary.bindTo(aMeters);
		secondary.bindTo(bMeters);
		try {
			assertThat(gauge(aMeters, "lockstep.replication.role", "role", "idle")).isEqualTo(1);
			assertThat(gauge(aMeters, "lockstep.replication.lineage.trusted")).isZero();
			secondary.start(ReplicationMode.SECONDARY);
			primary.start(ReplicationMode.PRIMARY);
			assertThat(gauge(aMeters, "lockstep.replication.role", "role", "idle")).isZero();
			assertThat(gauge(aMeters, "lockstep.replication.role", "role", "primary")).isEqualTo(1);
			assertThat(gauge(bMeters, "lockstep.replication.role", "role", "secondary")).isEqualTo(1);
			assertThat(gauge(aMeters, "lockstep.replication.forwarding")).isEqualTo(1);
			assertThat(gauge(aMeters, "lockstep.replication.sync.compared")).isEqualTo(SIZE);
			assertThat(gauge(aMeters, "lockstep.replication.sync.copied")).isEqualTo(SIZE);
			assertThat(gauge(aMeters, "lockstep.replication.lineage.trusted")).isEqualTo(1);
			assertThat(gauge(bMeters, "lockstep.replication.lineage.trusted")).isEqualTo(1);
			assertThat(gauge(aMeters, "lockstep.replication.suspect")).isZero();
			secondary.checkpoint();

			a.export("disk0").write(0, ByteBuffer.wrap(new byte[3 * 65536]), false);
			b.export("disk0").write(10 * 65536, ByteBuffer.wrap(new byte[100]), false);
			assertThat(gauge(bMeters, "lockstep.replication.overlay", "overlay", "hidden")).isEqualTo(3 * 65536);
			assertThat(gauge(bMeters, "lockstep.replication.overlay", "overlay", "active")).isEqualTo(65536);
			assertThat(gauge(aMeters, "lockstep.replication.faults")).isZero();

			a.severed = true;
			a.export("disk0").write(5L << 20, ByteBuffer.wrap(new byte[4096]), false);
			assertThat(gauge(aMeters, "lockstep.replication.forwarding")).isZero();
			assertThat(gauge(aMeters, "lockstep.replication.faults")).isEqualTo(1);
			assertThat(gauge(aMeters, "lockstep.replication.dirty")).isEqualTo(1 << 20);
		}
		finally {
			primary.close();
			secondary.close();
		}
	}

	@Test
	void theDocumentedGaugesAreTheOnesScraped() throws IOException {
		BlockReplicationParticipant participant = withoutPeer();
		try {
			PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
			participant.bindTo(meters);
			Set<String> scraped = names("(?m)^(lockstep_replication_[a-z_]+)\\{", meters.scrape());
			String docs = Files.readString(Path.of("docs", "replication.md"));
			Set<String> documented = names("`(lockstep_replication_[a-z_]+)",
					docs.substring(docs.indexOf("## Metrics")));
			assertThat(scraped).hasSize(18).isEqualTo(documented);
		}
		finally {
			participant.close();
		}
	}

	/** A participant on a 1 MiB disk, with no peer configured. */
	private BlockReplicationParticipant withoutPeer() throws IOException {
		InProcessEngine engine = new InProcessEngine(new ConcurrentHashMap<>(), URI.create("nbd://a:1"),
				List.of(InProcessEngine.disk("disk0", this.dir.resolve("a.img"), new MemoryDevice(1 << 20))));
		return new BlockReplicationParticipant(engine, properties(null, ReplicationKind.COLO));
	}

	/** The first groups of every match of {@code regex} in {@code text}. */
	private static Set<String> names(String regex, String text) {
		Set<String> names = new TreeSet<>();
		Matcher matcher = Pattern.compile(regex).matcher(text);
		while (matcher.find()) {
			names.add(matcher.group(1));
		}
		return names;
	}

	private static double gauge(SimpleMeterRegistry meters, String name, String... tags) {
		return meters.get(name).tag("disk", "disk0").tags(tags).gauge().value();
	}

	/** A device whose writes take a few milliseconds each. */
	private static final class SlowDevice extends ForwardingDevice {

		SlowDevice(BlockDevice delegate) {
			super(delegate);
		}

		@Override
		public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
			try {
				Thread.sleep(20);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
			this.delegate.write(offset, src, fua);
		}

	}

}
