package dev.vde.cli;

import dev.vde.format.Superblock;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * {@code vde --version}: the tool's version (from the Maven metadata packed into the jar; "development build"
 * when running from classes) and the newest on-disk format it writes.
 */
final class VersionProvider implements IVersionProvider {
  private static final String POM_PROPERTIES = "/META-INF/maven/dev.vde/vde/pom.properties";

  @Override
  public String[] getVersion() {
    return new String[] {
        "vde " + toolVersion(),
        "on-disk format " + Superblock.FORMAT_MAJOR + "." + Superblock.FORMAT_MINOR_CURRENT,
        "Java " + Runtime.version()
    };
  }

  private static String toolVersion() {
    try (InputStream in = VersionProvider.class.getResourceAsStream(POM_PROPERTIES)) {
      if (in != null) {
        Properties p = new Properties();
        p.load(in);
        return p.getProperty("version", "unknown");
      }
    } catch (IOException e) {
      // A jar we cannot read our own metadata from still runs; the version is merely unknown.
    }
    return "(development build)";
  }
}
