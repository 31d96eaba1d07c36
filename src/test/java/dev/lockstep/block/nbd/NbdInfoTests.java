package dev.lockstep.block.nbd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * nbdinfo against the server: export details, the export list and the allocation map.
 */
@Timeout(120)
class NbdInfoTests {

	private static final long MIB = 1024 * 1024;

	@RegisterExtension
	final TestServer.PerTest server = TestServer.perTest().disk("disk0", 64 * MIB).readOnlyDisk("disk1", 16 * MIB);

	@Test
	void describesExport() throws Exception {
		String output = Tools.ok(20, "nbdinfo", "--json", this.server.uri("disk0"));
		assertThat(output).contains("\"export-name\": \"disk0\"")
			.contains("\"export-size\": " + 64 * MIB)
			.contains("\"is_read_only\": false")
			.contains("\"can_flush\": true")
			.contains("\"can_fua\": true")
			.contains("\"can_trim\": true")
			.contains("\"can_zero\": true")
			.contains("\"can_multi_conn\": true")
			.contains("\"block_size_maximum\": 67108864")
			.contains("\"base:allocation\"");
	}

	@Test
	void describesReadOnlyExport() throws Exception {
		String output = Tools.ok(20, "nbdinfo", "--json", this.server.uri("disk1"));
		assertThat(output).contains("\"is_read_only\": true").contains("\"export-size\": " + 16 * MIB);
	}

	@Test
	void listsExports() throws Exception {
		String output = Tools.ok(20, "nbdinfo", "--list", "--json", "nbd://127.0.0.1:" + this.server.port());
		assertThat(output).contains("\"export-name\": \"disk0\"").contains("\"export-name\": \"disk1\"");
	}

	@Test
	void mapShowsHolesAndData() throws Exception {
		Tools.ok(20, "qemu-io", "-f", "raw", "-c", "write -P 0x5a 4M 1M", this.server.uri("disk0"));
		String map = Tools.ok(20, "nbdinfo", "--map", this.server.uri("disk0"));
		assertThat(map.lines().map(String::trim).map((line) -> line.replaceAll("\\s+", " ")))
			.containsExactly("0 4194304 3 hole,zero", "4194304 1048576 0 data", "5242880 61865984 3 hole,zero");
	}

	@Test
	void mapOfFreshDiskIsOneHole() throws Exception {
		String map = Tools.ok(20, "nbdinfo", "--map", this.server.uri("disk0"));
		assertThat(map.trim().replaceAll("\\s+", " ")).isEqualTo("0 67108864 3 hole,zero");
	}

}
