package dev.lockstep.block.nbd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.lockstep.block.ExportRegistry;
import dev.lockstep.block.file.FileBlockDevice;

/**
 * An NBD server on an ephemeral loopback port serving sparse image files from a
 * temporary directory, for tests.
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

}
