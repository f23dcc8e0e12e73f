#!/usr/bin/perl
# cgdiff.pl N OUT0 OUTN [MIN]: where the instructions of one call go, by function.
#
# OUT0 and OUTN are callgrind outputs of the same program run with 0 and N calls. For every
# function, (self Ir in OUTN - self Ir in OUT0) / N is what one call spends in it, start-up
# and exit cancelling out. Functions under MIN instructions per call (default 0.5) are left
# out; the last line is the total.
#
# The self costs are the ones `callgrind_annotate --inclusive=no` prints, summed per function
# and object: callgrind_annotate lists the code inlined from another source file (core's
# atomics, slices, …) as separate `file:function` lines, and drops the object name on them,
# which leaves libc's `write` and the preload's `write` indistinguishable. So the file is
# read here directly: `ob=` and `fn=` name the function, a cost line after `calls=` is the
# inclusive cost of a call (not self cost) and is skipped.
use strict;
use warnings;

my ($n, $f0, $f1, $min) = @ARGV;
die "usage: cgdiff.pl N OUT0 OUTN [MIN]\n" unless defined $f1 && $n > 0;
$min //= 0.5;

sub load {
    my ($file) = @_;
    my (%self, %names);
    my ($ob, $fn, $after_call) = ('', '', 0);
    # "(id) name" defines a compressed name, "(id)" refers to one.
    my $name = sub {
        my ($kind, $s) = @_;
        if ($s =~ /^\((\d+)\)\s*(.*)$/) {
            $names{$kind}{$1} = $2 if $2 ne '';
            return $names{$kind}{$1} // "?$1";
        }
        return $s;
    };
    open(my $fh, '<', $file) or die "$file: $!\n";
    while (<$fh>) {
        chomp;
        if (/^ob=(.*)$/) {
            $ob = $name->('ob', $1);
        } elsif (/^c?ob=(.*)$/) {
            $name->('ob', $1);
        } elsif (/^fn=(.*)$/) {
            $fn = $name->('fn', $1);
        } elsif (/^cfn=(.*)$/) {
            $name->('fn', $1);
        } elsif (/^(?:fl|fi|fe|cfi|cfl)=(.*)$/) {
            $name->('fl', $1);
        } elsif (/^calls=/) {
            $after_call = 1;
        } elsif (/^(?:[+-]?\d+|\*)(?:\s+(\d+))?\s*$/) {
            my $cost = $1 // 0;
            if ($after_call) {
                $after_call = 0;
            } else {
                (my $obj = $ob) =~ s{.*/}{};
                $self{"$fn ($obj)"} += $cost;
            }
        }
    }
    close($fh);
    return \%self;
}

my ($zero, $full) = (load($f0), load($f1));
my (%per, $total);
for my $k (keys %$full) {
    $per{$k} = (($full->{$k} // 0) - ($zero->{$k} // 0)) / $n;
    $total += $per{$k};
}
for my $k (sort { $per{$b} <=> $per{$a} || $a cmp $b } keys %per) {
    last if $per{$k} < $min;
    printf "%8.1f  %s\n", $per{$k}, $k;
}
printf "%8.1f  total\n", $total;
