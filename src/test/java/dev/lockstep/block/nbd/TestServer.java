package dev.lockstep.block.nbd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.springframework.util.FileSystemUtils;

import dev.lockstep.block.ExportRegistry;
import dev.lockstep.block.file.FileBlockDevice;

/**
 * An NBD server on an ephemeral loopback port serving sparse image files from a temporary
 * directory, for tests.
 */
public final class TestServer implements AutoCloseable {

	private final ExportRegistry registry = new ExportRegistry();

	private final NbdServer server;

	private final List<FileBlockDevice> devices = new ArrayList<>();

	private final Path directory;

	public TestServer(Path directory) throws IOException {
		this.directory = directory;
		this.server = new NbdServer(this.registry, NbdServer.Settings.loopback(0));
		this.server.start();
	}

	/** Adds an export backed by a new sparse image of {@code size} bytes. */
	public FileBlockDevice addDisk(String name, long size) throws IOException {
		return addDisk(name, size, false);
	}

	public FileBlockDevice addDisk(String name, long size, boolean readOnly) throws IOException {
		FileBlockDevice device = FileBlockDevice.open(this.directory.resolve(name + ".img"), size, false);
		this.devices.add(device);
		this.registry.add(name, device, readOnly, "test disk " + name);
		return device;
	}

	public ExportRegistry registry() {
		return this.registry;
	}

	public NbdServer server() {
		return this.server;
	}

	public int port() {
		return this.server.port();
	}

	/** The NBD URI of an export, as qemu and libnbd tools take it. */
	public String uri(String export) {
		return "nbd://127.0.0.1:" + port() + "/" + export;
	}

	public Path image(String name) {
		return this.directory.resolve(name + ".img");
	}

	@Override
	public void close() throws IOException {
		this.server.close();
		for (FileBlockDevice device : this.devices) {
			device.close();
		}
	}

	/**
	 * Returns a server for a test class to declare with {@code @RegisterExtension}:
	 * before each test it starts in a new temporary directory with the disks added here,
	 * and after the test it is closed and the directory deleted.
	 */
	public static PerTest perTest() {
		return new PerTest();
	}

	/** A {@link TestServer} started before and closed after each test. */
	public static final class PerTest implements BeforeEachCallback, AfterEachCallback {

		private final List<Disk> disks = new ArrayList<>();

		private Path directory;

		private TestServer server;

		private PerTest() {
		}

		/** Adds a writable disk of {@code size} bytes to every test's server. */
		public PerTest disk(String name, long size) {
			this.disks.add(new Disk(name, size, false));
			return this;
		}

		/** Adds a read-only disk of {@code size} bytes to every test's server. */
		public PerTest readOnlyDisk(String name, long size) {
			this.disks.add(new Disk(name, size, true));
			return this;
		}

		@Override
		public void beforeEach(ExtensionContext context) throws IOException {
			this.directory = Files.createTempDirectory("lockstep-nbd-test");
			this.server = new TestServer(this.directory);
			for (Disk disk : this.disks) {
				this.server.addDisk(disk.name(), disk.size(), disk.readOnly());
			}
		}

		@Override
		public void afterEach(ExtensionContext context) throws IOException {
			try {
				this.server.close();
			}
			finally {
				FileSystemUtils.deleteRecursively(this.directory);
			}
		}

		/** The temporary directory of the current test, which also holds the images. */
		public Path directory() {
			return this.directory;
		}

		public ExportRegistry registry() {
			return this.server.registry();
		}

		public NbdServer server() {
			return this.server.server();
		}

		public int port() {
			return this.server.port();
		}

		public String uri(String export) {
			return this.server.uri(export);
		}

		public Path image(String name) {
			return this.server.image(name);
		}

		private record Disk(String name, long size, boolean readOnly) {
		}

	}

}
