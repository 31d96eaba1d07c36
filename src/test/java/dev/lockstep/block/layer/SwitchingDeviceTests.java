package dev.lockstep.block.layer;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.lockstep.block.file.FileBlockDevice;
import dev.lockstep.block.overlay.MemoryDevice;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests for what {@link SwitchingDevice} tells the NBD server about its writes.
 */
class SwitchingDeviceTests {

	private static final int SIZE = 1024 * 1024;

	@TempDir
	Path directory;

	@Test
	void writesLocallyOnlyWhileItsStackDoesAndWritesAreNotHeld() throws Exception {
		try (FileBlockDevice image = FileBlockDevice.open(this.directory.resolve("disk.img"), SIZE, false)) {
			assertThat(image.writesLocally()).isTrue();
			SwitchingDevice device = new SwitchingDevice(image);
			assertThat(device.writesLocally()).isTrue();
			device.writeHold().hold();
			assertThat(device.writesLocally()).as("while writes are held").isFalse();
			device.writeHold().release();
			assertThat(device.writesLocally()).isTrue();
			device.switchTo(new MemoryDevice(SIZE));
			assertThat(device.writesLocally()).as("a device that does not say so").isFalse();
			device.switchTo(image);
			assertThat(device.writesLocally()).isTrue();
		}
	}

}
