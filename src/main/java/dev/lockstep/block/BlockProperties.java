package dev.lockstep.block;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.ConstructorBinding;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Configuration of the disk engine, {@code lockstep.block}.
 *
 * @param enabled whether the disk engine (and its NBD server) runs at all
 * @param dataDir where the default disk lives when no disks are configured
 * @param nbd the NBD server
 * @param disks the disks to serve; when empty, one sparse 1 GiB disk named disk0 in
 * {@code dataDir}
 */
@Validated
@ConfigurationProperties("lockstep.block")
public record BlockProperties(@DefaultValue("true") boolean enabled, @DefaultValue("./data") @NotBlank String dataDir,
		@Valid @DefaultValue NbdSettings nbd, @Valid List<Disk> disks) {

	/** Size of the embedded default disk. */
	public static final DataSize DEFAULT_DISK_SIZE = DataSize.ofGigabytes(1);

	public BlockProperties {
		disks = (disks != null) ? List.copyOf(disks) : List.of();
		Set<String> names = new HashSet<>();
		for (Disk disk : disks) {
			if (disk != null && disk.name() != null && !names.add(disk.name())) {
				throw new IllegalArgumentException("Disk name '" + disk.name() + "' is configured twice");
			}
			if (disk != null && disk.tls() == ExportTls.REQUIRED && nbd != null && nbd.tls() != null
					&& !nbd.tls().enabled()) {
				throw new IllegalArgumentException("Disk '" + disk.name()
						+ "' has tls: required, but lockstep.block.nbd.tls.mode is off; set it to optional or required");
			}
		}
	}

	/**
	 * The disks to serve: the configured ones, or the embedded default.
	 */
	public List<Disk> effectiveDisks() {
		if (!this.disks.isEmpty()) {
			return this.disks;
		}
		String path = this.dataDir.endsWith("/") ? this.dataDir + "disk0.img" : this.dataDir + "/disk0.img";
		return List.of(new Disk("disk0", path, DEFAULT_DISK_SIZE, false));
	}

	/**
	 * NBD server settings, {@code lockstep.block.nbd}.
	 *
	 * @param bind the address to listen on; anything but loopback exposes the disks,
	 * unauthenticated and unencrypted, to the network
	 * @param port the port, 0 for an ephemeral one
	 * @param maxConnections the most client connections at once
	 * @param threadsPerConnection the most requests processed at once per connection
	 * @param bufferBudget the most request and reply data held in memory at once, all
	 * clients together; at least 64MiB, the largest request; a client whose request would
	 * exceed it waits, and its socket is not read meanwhile
	 * @param handshakeTimeout how long a client may take to select an export
	 * @param tls TLS for NBD clients ({@code NBD_OPT_STARTTLS})
	 */
	public record NbdSettings(@DefaultValue("127.0.0.1") @NotBlank String bind,
			@DefaultValue("10809") @Min(0) @Max(65535) int port,
			@DefaultValue("64") @Min(1) @Max(4096) int maxConnections,
			@DefaultValue("16") @Min(1) @Max(256) int threadsPerConnection,
			@DefaultValue("256MiB") @NotNull DataSize bufferBudget,
			@DefaultValue("30s") @NotNull Duration handshakeTimeout, @Valid @DefaultValue Tls tls) {

		public NbdSettings {
			if (bufferBudget != null && bufferBudget.toBytes() < 64L * 1024 * 1024) {
				throw new IllegalArgumentException(
						"lockstep.block.nbd.buffer-budget must be at least 64MiB, the largest request the NBD server accepts");
			}
		}

	}

	/**
	 * TLS on the NBD server, {@code lockstep.block.nbd.tls}. The same bundle holds the
	 * certificate a primary presents to its secondary and the authorities it trusts for
	 * the secondary's.
	 *
	 * @param mode {@code off}, {@code optional} (clients may upgrade; disks with
	 * {@code tls: required} need it) or {@code required} (every export needs it)
	 * @param bundle the Spring Boot SSL bundle ({@code spring.ssl.bundle.*}) with the
	 * node's certificate and key and the trusted authorities
	 * @param clientAuth whether clients are asked for a certificate: {@code none},
	 * {@code want} or {@code need}
	 */
	public record Tls(@DefaultValue("off") @NotNull TlsMode mode, @Nullable String bundle,
			@DefaultValue("none") @NotNull ClientAuth clientAuth) {

		public Tls {
			if (mode != null && mode != TlsMode.OFF && (bundle == null || bundle.isBlank())) {
				throw new IllegalArgumentException("lockstep.block.nbd.tls.mode=" + mode.name().toLowerCase(Locale.ROOT)
						+ " needs lockstep.block.nbd.tls.bundle, the name of a spring.ssl.bundle");
			}
		}

		/** Whether the server offers TLS at all. */
		public boolean enabled() {
			return this.mode != TlsMode.OFF;
		}

	}

	/** How the NBD server offers TLS. */
	public enum TlsMode {

		/** No TLS: {@code NBD_OPT_STARTTLS} is unsupported. */
		OFF,

		/** Clients may upgrade; disks marked {@code tls: required} need it. */
		OPTIONAL,

		/** Every option other than STARTTLS and ABORT needs TLS first. */
		REQUIRED

	}

	/** Whether TLS clients are asked for a certificate. */
	public enum ClientAuth {

		/** Not asked. */
		NONE,

		/** Asked; a client without one is still served where no certificate is needed. */
		WANT,

		/** Required: a client without one fails the handshake. */
		NEED

	}

	/** Whether one disk's export needs TLS. */
	public enum ExportTls {

		/** As the server's mode says. */
		DEFAULT,

		/** Only over TLS, even when the server's mode is {@code optional}. */
		REQUIRED

	}

	/**
	 * One disk, {@code lockstep.block.disks[]}.
	 *
	 * @param name the export name (letters, digits, '.', '-', '_')
	 * @param path the raw image file; created sparse if missing
	 * @param size the size of a new image; an existing image keeps its own size
	 * @param readOnly whether clients may only read (the image must then exist)
	 * @param tls {@code required} to serve the disk only over TLS
	 */
	public record Disk(
			@NotBlank @Pattern(regexp = "[A-Za-z0-9][A-Za-z0-9._-]{0,254}",
					message = "must be letters, digits, '.', '-' or '_', starting with a letter or digit") String name,
			@NotBlank String path, @Nullable DataSize size, @DefaultValue("false") boolean readOnly,
			@DefaultValue("default") ExportTls tls) {

		@ConstructorBinding
		public Disk {
			if (size != null && size.toBytes() <= 0) {
				throw new IllegalArgumentException("Size of disk '" + name + "' must be positive");
			}
			tls = (tls != null) ? tls : ExportTls.DEFAULT;
		}

		public Disk(String name, String path, @Nullable DataSize size, boolean readOnly) {
			this(name, path, size, readOnly, ExportTls.DEFAULT);
		}

	}

}
