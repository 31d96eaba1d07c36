package dev.lockstep.block;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.context.SmartLifecycle;
import org.springframework.util.unit.DataSize;

import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.nbd.NbdServer;

/**
 * Opens, locks and exports the configured disks, and runs the NBD server that serves
 * them. Disks are opened when the engine is created (so a locked or unreadable image
 * stops start-up with a clear error); the server listens from {@link #start()} to
 * {@link #stop()}.
 */
public final class DiskEngine implements SmartLifecycle, AutoCloseable {

	private static final Log logger = LogFactory.getLog(DiskEngine.class);

	private final BlockProperties properties;

	private final ExportRegistry registry;

	private final NbdServer server;

	private final List<Disk> disks = new ArrayList<>();

	public DiskEngine(BlockProperties properties, ExportRegistry registry, NbdServer server) {
		this.properties = properties;
		this.registry = registry;
		this.server = server;
		try {
			for (BlockProperties.Disk disk : properties.effectiveDisks()) {
				this.disks.add(open(disk));
			}
		}
		catch (RuntimeException ex) {
			close();
			throw ex;
		}
	}

	private Disk open(BlockProperties.Disk config) {
		Path path = Path.of(config.path());
		DataSize configured = config.size();
		long size = (configured != null) ? configured.toBytes() : -1;
		FileBlockDevice device;
		try {
			device = FileBlockDevice.open(path, size, config.readOnly());
		}
		catch (FileBlockDevice.ImageLockedException ex) {
			throw new DiskEngineException("Cannot serve disk '" + config.name() + "': " + ex.getMessage(),
					"Stop the other process that serves " + path.toAbsolutePath()
							+ ", or give this disk another lockstep.block.disks[].path.",
					ex);
		}
		catch (IOException ex) {
			boolean create = size < 0 && !config.readOnly();
			throw new DiskEngineException(
					"Cannot open disk '" + config.name() + "' at " + path.toAbsolutePath() + ": " + describe(ex)
							+ (create ? " (set lockstep.block.disks[].size to create it)" : ""),
					create ? "Set lockstep.block.disks[].size for a new disk, or point lockstep.block.disks[].path at"
							+ " an existing image."
							: "Check that the directory exists and that this process may read and write the image"
									+ " there, or change lockstep.block.disks[].path.",
					ex);
		}
		if (size >= 0 && device.size() != size) {
			logger.warn(String.format("Disk '%s': image %s has %s, the configuration says %s; keeping the image's size",
					config.name(), device.path(), describe(device.size()), describe(size)));
		}
		Export export = this.registry.add(config.name(), device, config.readOnly(), "Lockstep disk " + config.name());
		if (config.tls() == BlockProperties.ExportTls.REQUIRED) {
			export.requireTls();
		}
		logger.info(String.format("Disk '%s': %s, %s%s, %s allocated", config.name(), device.path(),
				describe(device.size()), config.readOnly() ? ", read-only" : "", describe(device.allocatedBytes())));
		return new Disk(config.name(), device, export);
	}

	private static String describe(IOException ex) {
		if (ex instanceof NoSuchFileException missing) {
			return "no such file or directory: " + missing.getFile();
		}
		if (ex instanceof AccessDeniedException denied) {
			return "permission denied: " + denied.getFile();
		}
		if (ex instanceof FileAlreadyExistsException exists) {
			return "not a directory: " + exists.getFile();
		}
		String message = ex.getMessage();
		return (message != null) ? message : ex.getClass().getSimpleName();
	}

	private static String describe(long bytes) {
		String[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
		int unit = 0;
		long value = bytes;
		while (unit < units.length - 1 && value >= 1024 && value % 1024 == 0) {
			value /= 1024;
			unit++;
		}
		return (unit == 0) ? bytes + " bytes" : value + " " + units[unit];
	}

	/** The configured disks, in configuration order. */
	public List<Disk> disks() {
		return List.copyOf(this.disks);
	}

	public Optional<Disk> disk(String name) {
		return this.disks.stream().filter((disk) -> disk.name().equals(name)).findFirst();
	}

	/** The registry of all exports, including ones added at runtime. */
	public ExportRegistry exports() {
		return this.registry;
	}

	public NbdServer server() {
		return this.server;
	}

	/**
	 * The URL clients use for an export, e.g. {@code nbd://127.0.0.1:10809/disk0}, with
	 * the port the server actually listens on.
	 */
	public String exportUrl(String exportName) {
		String host = this.properties.nbd().bind();
		try {
			InetAddress address = InetAddress.getByName(host);
			if (address.isAnyLocalAddress()) {
				host = InetAddress.getLocalHost().getHostName();
			}
			else if (host.contains(":")) {
				host = "[" + host + "]";
			}
		}
		catch (UnknownHostException ex) {
			// Use the configured name as it is.
		}
		int port = this.server.isRunning() ? this.server.port() : this.properties.nbd().port();
		return "nbd://" + host + ":" + port + "/" + exportName;
	}

	/**
	 * Registers per-disk meters: bytes read and written, operations, errors, clients and
	 * allocated bytes, tagged with the disk name.
	 */
	public void bindTo(MeterRegistry meters) {
		for (Disk disk : this.disks) {
			ExportStats stats = disk.export().stats();
			String name = disk.name();
			FunctionCounter.builder("lockstep.disk.read.bytes", stats, ExportStats::bytesRead)
				.tag("disk", name)
				.baseUnit("bytes")
				.description("Bytes read by NBD clients")
				.register(meters);
			FunctionCounter.builder("lockstep.disk.written.bytes", stats, ExportStats::bytesWritten)
				.tag("disk", name)
				.baseUnit("bytes")
				.description("Bytes written by NBD clients")
				.register(meters);
			FunctionCounter.builder("lockstep.disk.operations", stats, ExportStats::operations)
				.tag("disk", name)
				.description("NBD requests served")
				.register(meters);
			FunctionCounter.builder("lockstep.disk.errors", stats, ExportStats::errors)
				.tag("disk", name)
				.description("NBD requests answered with an error")
				.register(meters);
			Gauge.builder("lockstep.disk.clients", stats, ExportStats::clients)
				.tag("disk", name)
				.description("Connected NBD clients")
				.register(meters);
			Gauge.builder("lockstep.disk.allocated.bytes", disk, Disk::allocatedBytes)
				.tag("disk", name)
				.baseUnit("bytes")
				.description("Bytes in allocated blocks of the image")
				.register(meters);
		}
	}

	@Override
	public void start() {
		try {
			this.server.start();
		}
		catch (IOException ex) {
			throw new DiskEngineException(String.valueOf(ex.getMessage()),
					"Stop the process that listens there, or set lockstep.block.nbd.port (and lockstep.block.nbd.bind)"
							+ " to a free address.",
					ex);
		}
		if (!isLoopback(this.properties.nbd().bind())) {
			logger.warn("NBD server is bound to " + this.properties.nbd().bind()
					+ ": anyone who can reach it can read and write the disks (NBD has no authentication here)");
		}
	}

	private static boolean isLoopback(String host) {
		try {
			return InetAddress.getByName(host).isLoopbackAddress();
		}
		catch (UnknownHostException ex) {
			return false;
		}
	}

	@Override
	public void stop() {
		this.server.close();
	}

	@Override
	public boolean isRunning() {
		return this.server.isRunning();
	}

	/**
	 * Stops the server and closes every disk, storing allocation maps and releasing image
	 * locks.
	 */
	@Override
	public void close() {
		this.server.close();
		for (Disk disk : this.disks) {
			this.registry.remove(disk.name());
			try {
				disk.image().close();
			}
			catch (IOException ex) {
				logger.warn("Could not close disk '" + disk.name() + "' cleanly", ex);
			}
		}
		this.disks.clear();
	}

}
