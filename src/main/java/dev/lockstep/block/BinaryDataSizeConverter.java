package dev.lockstep.block;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.springframework.boot.context.properties.ConfigurationPropertiesBinding;
import org.springframework.core.convert.converter.Converter;
import org.springframework.stereotype.Component;
import org.springframework.util.unit.DataSize;

/**
 * Binds sizes written with binary units ({@code 64KiB}, {@code 64MiB}, {@code 1GiB},
 * {@code 2TiB}) as well as Spring's own forms ({@code 64MB}, {@code 1GB}, {@code 512B},
 * plain bytes), which Spring already reads as powers of 1024.
 */
@Component
@ConfigurationPropertiesBinding
public final class BinaryDataSizeConverter implements Converter<String, DataSize> {

	private static final Pattern BINARY = Pattern.compile("^\\s*([+]?\\d+)\\s*([KMGT])iB\\s*$",
			Pattern.CASE_INSENSITIVE);

	@Override
	public DataSize convert(String source) {
		return parse(source);
	}

	/**
	 * Parses a size.
	 * @throws IllegalArgumentException if the text is not a size
	 */
	public static DataSize parse(String text) {
		Matcher matcher = BINARY.matcher(text);
		if (matcher.matches()) {
			return DataSize.parse(matcher.group(1) + matcher.group(2).toUpperCase(Locale.ROOT) + "B");
		}
		try {
			return DataSize.parse(text.trim());
		}
		catch (IllegalArgumentException ex) {
			throw new IllegalArgumentException("'" + text + "' is not a size; use e.g. 64MiB, 1GiB or 64MB", ex);
		}
	}

}
