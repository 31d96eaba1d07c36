package dev.lockstep.block;

import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.nbd.TestServer;
import dev.lockstep.block.nbd.Tools;
import dev.lockstep.block.nbd.client.NbdClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

@Timeout(60)
class ExportRegistryTests {

	private static final long MIB = 1024 * 1024;

	@TempDir
	Path directory;

	@Test
	void addFindListAndDefault() throws Exception {
		ExportRegistry registry = new ExportRegistry();
		try (FileBlockDevice a = FileBlockDevice.open(this.directory.resolve("a.img"), MIB, false);
				FileBlockDevice b = FileBlockDevice.open(this.directory.resolve("b.img"), MIB, false)) {
			registry.add("disk0", a, false, null);
			registry.add("disk0.replica", b, true, "replica");
			assertThat(registry.list()).extracting(Export::name).containsExactly("disk0", "disk0.replica");
			assertThat(registry.find("")).map(Export::name).contains("disk0");
			assertThat(registry.get("disk0.replica").readOnly()).isTrue();
			assertThatExceptionOfType(IllegalStateException.class)
				.isThrownBy(() -> registry.add("disk0", b, false, null));
			assertThatExceptionOfType(IllegalArgumentException.class)
				.isThrownBy(() -> registry.add("bad name", b, false, null));
			assertThat(registry.remove("disk0")).isPresent();
			assertThat(registry.find("")).map(Export::name).contains("disk0.replica");
			assertThat(registry.remove("disk0")).isEmpty();
		}
	}

	@Test
	void exportsAddedAtRuntimeAreServedAndRemovalDisconnectsClients() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			FileBlockDevice replica = server.addDisk("disk0.replica", 8 * MIB);
			assertThat(replica.size()).isEqualTo(8 * MIB);
			NbdClient client = NbdClient.connect(URI.create(server.uri("disk0.replica")));
			client.write(0, ByteBuffer.wrap(new byte[] { 1, 2, 3 }), false).get();
			server.registry().remove("disk0.replica");
			long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
			while (client.isOpen() && System.nanoTime() < deadline) {
				client.flush().exceptionally((ex) -> null).get();
				Thread.sleep(10);
			}
			assertThat(client.isOpen()).isFalse();
			Tools.Result result = Tools.run(20, "nbdinfo", server.uri("disk0.replica"));
			assertThat(result.exitCode()).isNotZero();
		}
	}

	@Test
	void swapWaitsForRunningRequestsAndWrapsTheDevice() throws Exception {
		try (TestServer server = new TestServer(this.directory)) {
			server.addDisk("disk0", 8 * MIB);
			Export export = server.registry().get("disk0");
			CountDownLatch entered = new CountDownLatch(1);
			CountDownLatch release = new CountDownLatch(1);
			CompletableFuture<Void> running = CompletableFuture.runAsync(() -> {
				try (Export.Ticket ticket = export.enter()) {
					entered.countDown();
					release.await();
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
				}
			});
			entered.await();
			CompletableFuture<BlockDevice> swap = CompletableFuture
				.supplyAsync(() -> export.swapDevice(CountingDevice::new));
			Thread.sleep(200);
			assertThat(swap).isNotDone();
			release.countDown();
			running.get(5, TimeUnit.SECONDS);
			BlockDevice previous = swap.get(5, TimeUnit.SECONDS);
			assertThat(previous).isInstanceOf(FileBlockDevice.class);
			assertThat(export.device()).isInstanceOf(CountingDevice.class);
			Tools.ok(30, "qemu-io", "-f", "raw", "-c", "write -P 0x42 0 64k", "-c", "read -P 0x42 0 64k",
					server.uri("disk0"));
			assertThat(((CountingDevice) export.device()).writes).isEqualTo(1);
		}
	}

	/** A layer that counts writes and passes everything to the device below. */
	static final class CountingDevice extends ForwardingDevice {

		volatile int writes;

		CountingDevice(BlockDevice delegate) {
			super(delegate);
		}

		@Override
		public synchronized void write(long offset, ByteBuffer src, boolean fua) throws java.io.IOException {
			this.writes++;
			this.delegate.write(offset, src, fua);
		}

	}

}
